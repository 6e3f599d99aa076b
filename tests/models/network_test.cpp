// Self-contained behaviour of the three backbones (no ../shared needed): shapes, the
// feature-extractor API, head replacement, stages, input-channel adaptation, initialization.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/golden_recipe.hpp"
#include "satx/core/error.hpp"
#include "satx/models/network.hpp"

namespace satx::models {
namespace {

const std::vector<std::string> kArchs = {"resnet50", "mobilenetv2", "xception"};

class ThreadsAndGrad : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(2);
    torch::manual_seed(3);
  }
};

using NetworkShapes = ThreadsAndGrad;
using NetworkHead = ThreadsAndGrad;
using NetworkStages = ThreadsAndGrad;
using InputChannels = ThreadsAndGrad;
using NetworkTraining = ThreadsAndGrad;

TEST_F(NetworkShapes, ForwardGivesOneLogitPerClassAtSmallInput) {
  torch::NoGradGuard no_grad;
  for (const auto& arch : kArchs) {
    auto network = create_network(arch, {5, 3});
    network->eval();
    auto logits = network->forward(torch::randn({2, 3, 64, 64}));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 5})) << arch;
    EXPECT_EQ(network->num_classes(), 5) << arch;
    EXPECT_EQ(network->in_channels(), 3) << arch;
    EXPECT_EQ(network->manifest().arch, arch);
    auto features = network->forward_features(torch::randn({2, 3, 64, 64}));
    EXPECT_EQ(features.sizes(), (std::vector<int64_t>{2, network->manifest().feature_dim})) << arch;
  }
}

TEST_F(NetworkShapes, MobileNetRunsAtManifestSize) {
  torch::NoGradGuard no_grad;
  auto network = create_network("mobilenetv2", {7, 3});
  network->eval();
  int size = network->manifest().input_size;
  EXPECT_EQ(network->forward(torch::randn({1, 3, size, size})).sizes(), (std::vector<int64_t>{1, 7}));
}

TEST_F(NetworkShapes, ForwardEqualsHeadOfFeatures) {
  torch::NoGradGuard no_grad;
  for (const auto& arch : kArchs) {
    auto network = create_network(arch, {4, 3});
    testing::fill_by_recipe(*network);  // non-trivial BatchNorm statistics
    network->eval();
    auto input = torch::randn({2, 3, 64, 64});
    auto direct = network->forward(input);
    auto composed = network->forward_head(network->forward_features(input));
    EXPECT_LT(testing::relative_error(composed, direct), 1e-6) << arch;
  }
}

TEST_F(NetworkShapes, ChannelsLastInputGivesSameLogits) {
  torch::NoGradGuard no_grad;
  for (const auto& arch : kArchs) {
    auto network = create_network(arch, {3, 3});
    testing::fill_by_recipe(*network);
    network->eval();
    auto input = torch::randn({2, 3, 64, 64});
    auto contiguous = network->forward(input);
    auto channels_last = network->forward(input.contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_LT(testing::relative_error(channels_last, contiguous), 1e-5) << arch;
  }
}

TEST_F(NetworkShapes, ImageNetHeadHasManifestParameterCount) {
  for (const auto& arch : kArchs) {
    auto network = create_network(arch);
    EXPECT_EQ(count_parameters(*network), network->manifest().imagenet_parameters) << arch;
  }
}

TEST_F(NetworkShapes, StateEntriesMatchNamedParametersAndBuffers) {
  for (const auto& arch : kArchs) {
    auto network = create_network(arch, {2, 3});
    auto entries = state_entries(*network);
    EXPECT_EQ(entries.size(), network->named_parameters().size() + network->named_buffers().size()) << arch;
    auto parameters = network->named_parameters();
    ASSERT_NE(parameters.find(network->input_conv_weight()), nullptr) << arch;
    EXPECT_EQ(parameters[network->input_conv_weight()].size(1), 3) << arch;
    // The head is the manifest's and comes last, as in the published files.
    EXPECT_EQ(entries.back().first, network->manifest().head + ".bias") << arch;
  }
  auto resnet = create_network("resnet50");
  auto buffers = resnet->named_buffers();
  ASSERT_NE(buffers.find("layer1.0.downsample.1.num_batches_tracked"), nullptr);
  EXPECT_EQ(buffers["layer1.0.downsample.1.num_batches_tracked"].scalar_type(), torch::kLong);
  EXPECT_EQ(resnet->named_parameters().find("layer1.1.downsample.0.weight"), nullptr);
  auto mobilenet = create_network("mobilenetv2")->named_parameters();
  EXPECT_NE(mobilenet.find("features.17.conv.2.weight"), nullptr);
  EXPECT_NE(mobilenet.find("features.1.conv.1.weight"), nullptr);  // t=1: no expansion conv
  EXPECT_EQ(mobilenet.find("features.1.conv.3.weight"), nullptr);
  auto xception = create_network("xception")->named_parameters();
  EXPECT_NE(xception.find("block12.skipbn.weight"), nullptr);
  EXPECT_NE(xception.find("block1.rep.0.conv1.weight"), nullptr);  // block1 starts without ReLU
  EXPECT_NE(xception.find("block2.rep.1.pointwise.weight"), nullptr);
  EXPECT_EQ(xception.find("block4.skip.weight"), nullptr);
}

TEST_F(NetworkShapes, CreateAcceptsAliasesAndRejectsBadValues) {
  EXPECT_EQ(create_network("MobileNet_V2", {2, 3})->manifest().arch, "mobilenetv2");
  try {
    create_network("resnet51");
    FAIL() << "expected a Usage error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Usage);
    EXPECT_NE(std::string(e.what()).find("resnet51"), std::string::npos);
  }
  try {
    create_network("xception", {0, 3});
    FAIL() << "expected a Usage error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Usage);
    EXPECT_NE(std::string(e.what()).find("num_classes"), std::string::npos);
  }
  EXPECT_THROW(create_network("resnet50", {2, 0}), Error);
}

TEST_F(NetworkHead, ReplaceHeadChangesWidthAndKeepsBackbone) {
  torch::NoGradGuard no_grad;
  for (const auto& arch : kArchs) {
    auto network = create_network(arch);
    network->eval();
    auto input = torch::randn({1, 3, 64, 64});
    auto features_before = network->forward_features(input);
    std::map<std::string, torch::Tensor> before;
    for (const auto& entry : state_entries(*network)) before[entry.first] = entry.second.clone();

    network->replace_head(3);
    EXPECT_EQ(network->num_classes(), 3) << arch;
    EXPECT_EQ(network->forward(input).sizes(), (std::vector<int64_t>{1, 3})) << arch;
    EXPECT_TRUE(network->forward_features(input).equal(features_before)) << arch;
    const std::string head = network->manifest().head;
    auto after = state_entries(*network);
    ASSERT_EQ(after.size(), before.size()) << arch;
    for (const auto& entry : after) {
      if (entry.first.rfind(head + ".", 0) == 0) {
        EXPECT_EQ(entry.second.size(0), 3) << entry.first;
      } else {
        EXPECT_TRUE(entry.second.equal(before[entry.first])) << arch << " " << entry.first;
      }
    }
    auto head_parameters = network->head_parameters();
    ASSERT_EQ(head_parameters.size(), 2u) << arch;
    EXPECT_EQ(head_parameters[0].size(0), 3) << arch;
    EXPECT_TRUE(head_parameters[0].is_same(network->named_parameters()[head + ".weight"])) << arch;
    EXPECT_THROW(network->replace_head(0), Error);
  }
}

TEST_F(NetworkHead, MobileNetHeadUsesTorchvisionInitAndDropoutOnlyInTraining) {
  auto network = create_network("mobilenetv2", {1000, 3});
  auto weight = network->head_parameters()[0];
  EXPECT_NEAR(weight.std().item<double>(), 0.01, 0.001);
  EXPECT_EQ(network->head_parameters()[1].abs().max().item<double>(), 0.0);
  auto features = torch::ones({4, 1280});
  torch::NoGradGuard no_grad;
  network->eval();
  EXPECT_TRUE(network->forward_head(features).equal(network->forward_head(features)));
  network->train();
  EXPECT_FALSE(network->forward_head(features).equal(network->forward_head(features)));
}

TEST_F(NetworkHead, StageOfMatchesLongestPrefixAtDotBoundary) {
  const auto& mobilenet = find_manifest("mobilenetv2");
  auto index = [&mobilenet](const std::string& stage) {
    return static_cast<int>(std::find(mobilenet.stages.begin(), mobilenet.stages.end(), stage) - mobilenet.stages.begin());
  };
  EXPECT_EQ(stage_of(mobilenet, "features.10.conv.0.0.weight"), index("features.10"));
  EXPECT_EQ(stage_of(mobilenet, "features.1.conv.0.0.weight"), index("features.1"));
  EXPECT_EQ(stage_of(mobilenet, "features.1"), index("features.1"));
  EXPECT_EQ(stage_of(mobilenet, "classifier.1.weight"), index("classifier"));
  EXPECT_EQ(stage_of(mobilenet, "featuresX.1.weight"), -1);
  EXPECT_EQ(stage_of(mobilenet, "head.weight"), -1);
  const auto& xception = find_manifest("xception");
  EXPECT_EQ(xception.stages[stage_of(xception, "block1.rep.0.conv1.weight")], "block1");
  EXPECT_EQ(xception.stages[stage_of(xception, "block12.skipbn.running_var")], "block12");
  EXPECT_EQ(xception.stages[stage_of(xception, "bn1.weight")], "bn1");
  // Every parameter of every arch belongs to some stage.
  for (const auto& arch : kArchs) {
    auto network = create_network(arch, {2, 3});
    for (const auto& entry : state_entries(*network))
      EXPECT_GE(stage_of(network->manifest(), entry.first), 0) << arch << " " << entry.first;
  }
}

TEST_F(NetworkStages, StagesShrinkAndEndInThePooledMaps) {
  torch::NoGradGuard no_grad;
  const std::map<std::string, std::vector<std::string>> expected = {
      {"resnet50", {"layer1", "layer2", "layer3", "layer4"}},
      {"mobilenetv2", {"features.1", "features.3", "features.6", "features.13", "features.18"}},
      {"xception", {"act2", "block1", "block2", "block11", "act4"}},
  };
  for (const auto& arch : kArchs) {
    auto network = create_network(arch, {2, 3});
    testing::fill_by_recipe(*network);
    network->eval();
    auto input = torch::randn({1, 3, 96, 96});
    auto stages = network->forward_stages(input);
    std::vector<std::string> names;
    for (const auto& stage : stages) names.push_back(stage.first);
    EXPECT_EQ(names, expected.at(arch));
    for (size_t i = 1; i < stages.size(); ++i) EXPECT_LT(stages[i].second.size(2), stages[i - 1].second.size(2)) << arch;
    const auto& last = stages.back().second;
    EXPECT_EQ(last.size(1), network->manifest().feature_dim) << arch;
    EXPECT_LT(testing::relative_error(last.mean({2, 3}), network->forward_features(input)), 1e-5) << arch;
  }
}

TEST_F(InputChannels, AdaptKeepsSumOverChannels) {
  auto rgb = torch::randn({8, 3, 3, 3});
  for (int64_t channels : {1, 4, 13}) {
    auto adapted = adapt_input_channels(rgb, channels);
    EXPECT_EQ(adapted.sizes(), (std::vector<int64_t>{8, channels, 3, 3}));
    EXPECT_TRUE(torch::allclose(adapted.sum(1), rgb.sum(1), 1e-5, 1e-6)) << channels;
    EXPECT_TRUE(adapted.select(1, 0).equal(adapted.select(1, channels - 1)));
  }
  EXPECT_TRUE(adapt_input_channels(rgb, 3).equal(rgb));
  EXPECT_THROW(adapt_input_channels(torch::randn({8, 4, 3, 3}), 5), Error);
}

TEST_F(InputChannels, AdaptedNetworkAnswersConstantImageLikeRgbNetwork) {
  torch::NoGradGuard no_grad;
  for (const auto& arch : kArchs) {
    auto rgb = create_network(arch, {6, 3});
    testing::fill_by_recipe(*rgb);
    rgb->eval();
    for (int64_t channels : {4, 13}) {
      auto multi = create_network(arch, {6, channels});
      EXPECT_EQ(multi->in_channels(), channels);
      auto source = rgb->named_parameters();
      for (auto& entry : state_entries(*multi)) {
        const auto& name = entry.first;
        auto from = source.find(name) ? source[name] : rgb->named_buffers()[name];
        entry.second.copy_(name == multi->input_conv_weight() ? adapt_input_channels(from, channels) : from);
      }
      multi->eval();
      auto value = torch::full({2, 1, 64, 64}, 0.7);
      value[1].fill_(-1.3);
      auto expected = rgb->forward(value.expand({-1, 3, -1, -1}));
      auto actual = multi->forward(value.expand({-1, channels, -1, -1}));
      EXPECT_LT(testing::relative_error(actual, expected), 1e-4) << arch << " C=" << channels;
    }
  }
}

TEST_F(NetworkTraining, InitMatchesTorchvisionAndBackwardReachesEveryParameter) {
  for (const auto& arch : kArchs) {
    auto network = create_network(arch, {3, 4});
    for (const auto& entry : state_entries(*network)) {
      const auto& name = entry.first;
      if (name.size() > 12 && name.substr(name.size() - 12) == "running_mean") {
        const std::string bn = name.substr(0, name.size() - 12);
        auto parameters = network->named_parameters();
        EXPECT_TRUE(parameters[bn + "weight"].eq(1).all().item<bool>()) << name;
        EXPECT_TRUE(parameters[bn + "bias"].eq(0).all().item<bool>()) << name;
      }
    }
    // kaiming_normal, fan_out, ReLU gain: std = sqrt(2 / (out * k * k)).
    auto first = network->named_parameters()[network->input_conv_weight()];
    const double fan_out = static_cast<double>(first.size(0) * first.size(2) * first.size(3));
    EXPECT_NEAR(first.std().item<double>(), std::sqrt(2.0 / fan_out), 0.2 * std::sqrt(2.0 / fan_out)) << arch;

    network->train();
    auto logits = network->forward(torch::randn({2, 4, 64, 64}));
    auto loss = torch::nn::functional::cross_entropy(logits, torch::tensor({0, 2}, torch::kLong));
    loss.backward();
    for (const auto& parameter : network->named_parameters()) {
      ASSERT_TRUE(parameter.value().grad().defined()) << arch << " " << parameter.key();
      EXPECT_TRUE(parameter.value().grad().isfinite().all().item<bool>()) << parameter.key();
    }
    // Training mode updated the BatchNorm statistics.
    for (const auto& entry : state_entries(*network)) {
      if (entry.first.find("num_batches_tracked") != std::string::npos) {
        EXPECT_EQ(entry.second.item<int64_t>(), 1) << arch << " " << entry.first;
        break;
      }
    }
  }
}

}  // namespace
}  // namespace satx::models
