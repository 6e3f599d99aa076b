// Reproduces the reference forward passes in ../shared/golden bit-for-bit in weights and input,
// and to < 1e-4 relative error in logits; also checks the state-dict layout entry by entry.

#include <chrono>
#include <iostream>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/golden_recipe.hpp"
#include "satx/models/network.hpp"
#include "support/test_support.hpp"

namespace satx::models {
namespace {

void expect_state_layout_matches(Network& network, const testing::GoldenModel& golden) {
  auto entries = state_entries(network);
  ASSERT_EQ(entries.size(), golden.state_dict.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    ASSERT_EQ(entries[i].first, golden.state_dict[i].first) << "state-dict entry " << i;
    ASSERT_EQ(entries[i].second.sizes().vec(), golden.state_dict[i].second) << entries[i].first;
  }
  // Loading by name must be trivial: LibTorch's own named_parameters()/named_buffers() carry
  // exactly the published keys, num_batches_tracked included as an int64 scalar.
  std::set<std::string> published, own;
  for (const auto& entry : golden.state_dict) published.insert(entry.first);
  for (const auto& p : network.named_parameters()) own.insert(p.key());
  for (const auto& b : network.named_buffers()) {
    own.insert(b.key());
    if (b.key().size() > 19 && b.key().substr(b.key().size() - 19) == "num_batches_tracked") {
      EXPECT_EQ(b.value().scalar_type(), torch::kLong) << b.key();
      EXPECT_EQ(b.value().dim(), 0) << b.key();
    }
  }
  EXPECT_EQ(own, published);
  EXPECT_EQ(own.size(), golden.state_dict.size());
}

void run_golden(const std::filesystem::path& shared, const std::string& arch, const std::string& file) {
  torch::set_num_threads(2);
  torch::NoGradGuard no_grad;
  auto golden = testing::read_golden(shared / "golden" / file);
  auto network = create_network(arch);
  expect_state_layout_matches(*network, golden);
  EXPECT_EQ(count_parameters(*network), golden.parameter_count);
  EXPECT_EQ(network->manifest().imagenet_parameters, golden.parameter_count);

  testing::fill_by_recipe(*network);
  network->eval();
  auto input = testing::recipe_input(golden.batch, golden.input_size);
  auto start = std::chrono::steady_clock::now();
  auto logits = network->forward(input);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(logits.sizes(), golden.logits.sizes());
  double error = testing::relative_error(logits, golden.logits);
  std::cout << "[ golden   ] " << arch << ": relative error " << error << ", forward " << seconds << " s\n";
  EXPECT_LT(error, 1e-4);
}

TEST(GoldenForward, ResNet50MatchesTorchvision) {
  SATX_REQUIRE_SHARED(shared);
  run_golden(shared, "resnet50", "resnet50.json");
}

TEST(GoldenForward, MobileNetV2MatchesTorchvision) {
  SATX_REQUIRE_SHARED(shared);
  run_golden(shared, "mobilenetv2", "mobilenet_v2.json");
}

TEST(GoldenForward, XceptionMatchesTimmLegacy) {
  SATX_REQUIRE_SHARED(shared);
  run_golden(shared, "xception", "xception.json");
}

}  // namespace
}  // namespace satx::models
