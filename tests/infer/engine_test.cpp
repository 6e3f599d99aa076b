// The inference engine's test-time augmentation: dihedral views and extra input sizes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/models/model_file.hpp"
#include "satx/infer/engine.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

namespace fs = std::filesystem;
using satx::infer::InferenceEngine;
using satx::infer::EngineOptions;
using satx::infer::scaled_input_sizes;

namespace {

struct TinyModel {
  satx::testing::TempDir dir;
  fs::path model = dir / "m.safetensors";
  TinyModel() { satx::testing::write_tiny_model(model, dir / "data", {"a", "b", "c"}, 4, 32, true); }
  torch::Tensor probabilities(const torch::Tensor& images, bool tta, std::vector<double> scales) const {
    EngineOptions options;
    options.tta = tta;
    options.tta_scales = std::move(scales);
    InferenceEngine engine(satx::models::load_model_file(model, torch::kCPU), torch::kCPU, options);
    return engine.probabilities(images);
  }
};

}  // namespace

TEST(TtaScales, RoundScaledSizesAndRejectUnusableScales) {
  EXPECT_EQ(scaled_input_sizes(128, {1.0}), std::vector<int>({128}));
  EXPECT_EQ(scaled_input_sizes(128, {1.0, 1.125, 1.126, 0.75}), std::vector<int>({128, 144, 96}));
  EXPECT_THROW(scaled_input_sizes(128, {}), satx::Error);
  EXPECT_THROW(scaled_input_sizes(128, {1.0, 0.0}), satx::Error);
  EXPECT_THROW(scaled_input_sizes(128, {-1.0}), satx::Error);
  EXPECT_THROW(scaled_input_sizes(32, {0.1}), satx::Error);  // 3 pixels
}

TEST(TtaScales, AverageTheProbabilitiesOfEverySize) {
  TinyModel tiny;
  torch::manual_seed(2);
  const auto images = torch::randint(0, 256, {5, 3, 32, 32}, torch::kUInt8);
  const auto own = tiny.probabilities(images, false, {1.0});
  const auto larger = tiny.probabilities(images, false, {1.5});
  const auto both = tiny.probabilities(images, false, {1.0, 1.5});
  EXPECT_GT((own - larger).abs().max().item<double>(), 1e-4);  // the size matters
  EXPECT_TRUE(torch::allclose(both, (own + larger) / 2, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(both.sum(1), torch::ones({5}), 1e-5, 1e-5));

  const auto tta_own = tiny.probabilities(images, true, {1.0});
  const auto tta_larger = tiny.probabilities(images, true, {1.5});
  EXPECT_TRUE(torch::allclose(tiny.probabilities(images, true, {1.0, 1.5}), (tta_own + tta_larger) / 2, 1e-5, 1e-6));

  EngineOptions options;
  options.tta = true;
  options.tta_scales = {1.0, 1.5};
  InferenceEngine engine(satx::models::load_model_file(tiny.model, torch::kCPU), torch::kCPU, options);
  EXPECT_EQ(engine.views(), 16);
  EXPECT_EQ(engine.input_sizes(), std::vector<int>({32, 48}));
}
