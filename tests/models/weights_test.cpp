#include <map>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/io/weights.hpp"
#include "satx/models/weights.hpp"
#include "satx/models/network.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::testing::TempDir;

namespace {

satx::io::TensorList state_of(satx::models::Network& network) {
  satx::io::TensorList list;
  for (const auto& [name, tensor] : satx::models::state_entries(network)) list.emplace_back(name, tensor.detach().clone());
  return list;
}

std::string load_error(satx::models::Network& network, const satx::io::TensorList& tensors,
                       const satx::models::LoadWeightsOptions& options = {}) {
  try {
    satx::models::load_weights_into(network, tensors, options);
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(LoadWeights, CopiesEveryTensorWhenNamesAndShapesMatch) {
  torch::manual_seed(1);
  auto source = satx::models::create_network("mobilenetv2", {10, 3});
  auto target = satx::models::create_network("mobilenetv2", {10, 3});
  auto tensors = state_of(*source);
  for (auto& [name, tensor] : tensors)
    if (tensor.is_floating_point()) tensor = tensor.to(torch::kDouble);  // converted on copy
  const auto report = satx::models::load_weights_into(*target, tensors);
  EXPECT_EQ(report.loaded, tensors.size());
  auto loaded = state_of(*target);
  for (size_t i = 0; i < loaded.size(); ++i) {
    EXPECT_EQ(loaded[i].second.scalar_type(), satx::models::state_entries(*source)[i].second.scalar_type());
    EXPECT_TRUE(torch::equal(loaded[i].second, satx::models::state_entries(*source)[i].second)) << loaded[i].first;
  }
}

TEST(LoadWeights, ListsMissingUnexpectedAndMisshapedNamesAndCopiesNothing) {
  torch::manual_seed(2);
  auto network = satx::models::create_network("mobilenetv2", {10, 3});
  const auto before = state_of(*network);
  auto tensors = state_of(*network);
  for (auto& [name, tensor] : tensors) tensor = tensor.is_floating_point() ? tensor + 1 : tensor;
  // Drop 12 entries (BatchNorm counters may be absent from published files, so skip those),
  // add 2 strangers, reshape one.
  satx::io::TensorList edited;
  std::vector<std::string> dropped;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const bool counter = tensors[i].first.find("num_batches_tracked") != std::string::npos;
    if (i >= 20 && dropped.size() < 12 && !counter) {
      dropped.push_back(tensors[i].first);
      continue;
    }
    edited.push_back(tensors[i]);
  }
  edited.emplace_back("extra.weight", torch::zeros({1}));
  edited.emplace_back("features.99.weight", torch::zeros({1}));
  for (auto& [name, tensor] : edited)
    if (name == "features.0.0.weight") tensor = torch::zeros({32, 3, 5, 5});
  satx::models::LoadWeightsOptions options;
  options.origin = "edited.pth";
  const std::string message = load_error(*network, edited, options);
  EXPECT_NE(message.find("loading edited.pth into mobilenetv2"), std::string::npos) << message;
  EXPECT_NE(message.find("12 missing: " + dropped.front()), std::string::npos) << message;
  EXPECT_NE(message.find("... (2 more)"), std::string::npos) << message;  // 10 listed of 12
  EXPECT_NE(message.find("2 unexpected: extra.weight, features.99.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("1 mis-shaped: features.0.0.weight (file [32, 3, 5, 5], model [32, 3, 3, 3])"),
            std::string::npos) << message;
  const auto after = state_of(*network);
  for (size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(torch::equal(after[i].second, before[i].second)) << after[i].first;
}

TEST(LoadWeights, SkipsTheHeadForTransferLearning) {
  torch::manual_seed(3);
  auto imagenet = satx::models::create_network("mobilenetv2", {1000, 3});
  auto small = satx::models::create_network("mobilenetv2", {4, 3});
  const auto tensors = state_of(*imagenet);
  const std::string strict = load_error(*small, tensors);
  EXPECT_NE(strict.find("classifier.1.weight (file [1000, 1280], model [4, 1280])"), std::string::npos) << strict;
  EXPECT_NE(strict.find("only the classification head differs"), std::string::npos) << strict;

  const auto head_before = small->named_parameters()["classifier.1.weight"].clone();
  satx::models::LoadWeightsOptions options;
  options.skip_head = true;
  const auto report = satx::models::load_weights_into(*small, tensors, options);
  EXPECT_EQ(report.skipped, (std::vector<std::string>{"classifier.1.weight", "classifier.1.bias"}));
  EXPECT_TRUE(torch::equal(small->named_parameters()["classifier.1.weight"], head_before));
  EXPECT_TRUE(torch::equal(small->named_parameters()["features.0.0.weight"],
                           imagenet->named_parameters()["features.0.0.weight"]));
}

TEST(LoadWeights, AdaptsTheFirstConvolutionToOtherChannelCounts) {
  torch::manual_seed(4);
  auto rgb = satx::models::create_network("resnet50", {5, 3});
  auto multispectral = satx::models::create_network("resnet50", {5, 13});
  const auto tensors = state_of(*rgb);
  const auto report = satx::models::load_weights_into(*multispectral, tensors);
  EXPECT_TRUE(report.adapted_input);
  const auto kernel = multispectral->named_parameters()[multispectral->input_conv_weight()];
  const auto original = rgb->named_parameters()[rgb->input_conv_weight()];
  EXPECT_EQ(kernel.size(1), 13);
  // The sum over input channels is unchanged: a constant image gives the RGB response.
  EXPECT_TRUE(torch::allclose(kernel.sum(1), original.sum(1), 1e-5, 1e-6));

  satx::models::LoadWeightsOptions no_adapt;
  no_adapt.adapt_input_channels = false;
  auto other = satx::models::create_network("resnet50", {5, 13});
  EXPECT_NE(load_error(*other, tensors, no_adapt).find("conv1.weight (file [64, 3, 7, 7], model [64, 13, 7, 7])"),
            std::string::npos);
}

TEST(LoadWeights, ToleratesMissingBatchCountersOnlyWhenAllowed) {
  auto network = satx::models::create_network("mobilenetv2", {3, 3});
  satx::io::TensorList without;
  for (const auto& entry : state_of(*network))
    if (entry.first.find("num_batches_tracked") == std::string::npos) without.push_back(entry);
  EXPECT_NO_THROW(satx::models::load_weights_into(*network, without));
  satx::models::LoadWeightsOptions strict;
  strict.allow_missing_batch_counters = false;
  EXPECT_NE(load_error(*network, without, strict).find("num_batches_tracked"), std::string::npos);
}

TEST(WeightsFormat, DetectsByContentNotName) {
  TempDir dir;
  satx::io::write_safetensors(dir / "a.bin", {{"x", torch::ones({2})}});
  EXPECT_EQ(satx::io::detect_weights_format(dir / "a.bin"), satx::io::WeightsFormat::Safetensors);
  satx::testing::write_text(dir / "b.pth", std::string("PK\x03\x04", 4) + std::string(40, '\0'));
  EXPECT_EQ(satx::io::detect_weights_format(dir / "b.pth"), satx::io::WeightsFormat::TorchZip);
  satx::testing::write_text(dir / "c.weights", std::string("\x89HDF\r\n\x1a\n", 8) + std::string(40, '\0'));
  EXPECT_EQ(satx::io::detect_weights_format(dir / "c.weights"), satx::io::WeightsFormat::KerasH5);
  satx::testing::write_text(dir / "d.txt", "just text");
  EXPECT_THROW(satx::io::detect_weights_format(dir / "d.txt"), satx::Error);
  const auto read = satx::io::read_weights(dir / "a.bin");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_TRUE(torch::equal(read[0].second, torch::ones({2})));
}

TEST(IdentifyWeights, MatchesFullDigestsAndPublishedPrefixes) {
  TempDir dir;
  satx::testing::write_text(dir / "unknown.pth", "no manifest lists this");
  EXPECT_FALSE(satx::models::identify_weights(dir / "unknown.pth").has_value());
  // torchvision publishes the first 8 hex digits in the file name (mobilenet_v2-b0353104.pth).
  const std::string digest = "b0353104" + std::string(56, '7');
  const auto prefixed = satx::models::identify_weights(dir / "unknown.pth", digest);
  ASSERT_TRUE(prefixed.has_value());
  EXPECT_EQ(prefixed->manifest->arch, "mobilenetv2");
  EXPECT_EQ(prefixed->file->name, "mobilenet_v2-b0353104.pth");
  EXPECT_EQ(prefixed->mean, prefixed->manifest->mean);  // no per-file normalization: the arch's
}

TEST(IdentifyWeights, RecognisesTheSharedFileAndItsNormalization) {
  SATX_REQUIRE_SHARED(shared);
  const fs::path path = shared / "weights" / "mobilenet_v2_imagenet.pth";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent";
  const auto identified = satx::models::identify_weights(path);
  ASSERT_TRUE(identified.has_value());
  EXPECT_EQ(identified->file->name, "mobilenet_v2_imagenet.pth");
  EXPECT_EQ(identified->sha256, identified->file->sha256);
  EXPECT_EQ(identified->mean, (std::vector<float>{0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(identified->std, (std::vector<float>{0.5f, 0.5f, 0.5f}));
}
