// Calibrating pretrained BatchNorm before it trains (train -train-bn).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/models/network.hpp"
#include "train/detail/batches.hpp"

using satx::train::detail::calibrate_batchnorm;

namespace {

// A MobileNetV2 whose BatchNorm statistics describe other data than the test inputs, as
// ImageNet statistics (or folded ones) do for satellite tiles.
std::shared_ptr<satx::models::Network> pretrained_elsewhere() {
  torch::manual_seed(3);
  auto network = satx::models::create_network("mobilenetv2", {4, 3});
  torch::NoGradGuard no_grad;
  for (const auto& module : network->modules(false))
    if (auto* norm = module->as<torch::nn::BatchNorm2d>()) norm->options.momentum(c10::nullopt);
  network->train();
  network->forward(torch::randn({32, 3, 48, 48}) * 2.0 + 0.5);
  for (const auto& module : network->modules(false))
    if (auto* norm = module->as<torch::nn::BatchNorm2d>()) {
      norm->options.momentum(0.1);
      norm->bias.copy_(torch::randn_like(norm->bias) * 0.1);
    }
  network->eval();
  return network;
}

double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm()).item<double>();
}

}  // namespace

TEST(BatchNormCalibration, KeepsTheFunctionAndMatchesTrainingModeOnItsData) {
  auto network = pretrained_elsewhere();
  torch::manual_seed(4);
  const auto inputs = torch::rand({48, 3, 48, 48}) - 0.3;
  torch::NoGradGuard no_grad;
  // Pooled features: the head's dropout would differ between the modes anyway. The
  // training-mode pass moves the running statistics, so the reference comes after it.
  network->train();
  const auto training_mode_before = network->forward_features(inputs);
  network->eval();
  const auto before = network->forward_features(inputs);
  // Without calibration, batch statistics change the function: what -train-bn alone would do.
  ASSERT_GT(relative_difference(training_mode_before, before), 0.2);

  auto& first = *network->named_modules()["features.0.1"]->as<torch::nn::BatchNorm2d>();
  auto& conv = *network->named_modules()["features.0.0"]->as<torch::nn::Conv2d>();
  const auto first_input = conv.forward(inputs);
  const auto tracked = first.num_batches_tracked.clone();

  EXPECT_EQ(calibrate_batchnorm(*network, inputs, /*chunk=*/48), 52);
  EXPECT_FALSE(network->is_training());
  EXPECT_LT(relative_difference(network->forward_features(inputs), before), 1e-4);
  // The running statistics are now the data's, and training mode computes (almost) the same.
  EXPECT_TRUE(torch::allclose(first.running_mean, first_input.mean({0, 2, 3}), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(first.running_var, first_input.var({0, 2, 3}), 1e-3, 1e-5));
  EXPECT_TRUE(torch::equal(first.num_batches_tracked, tracked));
  EXPECT_DOUBLE_EQ(first.options.momentum().value(), 0.1);
  network->train();
  EXPECT_LT(relative_difference(network->forward_features(inputs), before), 0.02);
}

TEST(BatchNormCalibration, LeavesFrozenLayersBitIdentical) {
  auto network = pretrained_elsewhere();
  for (auto& item : network->named_parameters())
    item.value().set_requires_grad(item.key().rfind("features.1.", 0) != 0 && item.key().rfind("features.0.", 0) != 0);
  std::map<std::string, torch::Tensor> initial;
  for (const auto& [name, tensor] : satx::models::state_entries(*network)) initial[name] = tensor.clone();
  const int trainable_layers = calibrate_batchnorm(*network, torch::rand({16, 3, 32, 32}), 8);
  EXPECT_EQ(trainable_layers, 52 - 3);  // features.0 has one BatchNorm, features.1 two
  for (const auto& [name, tensor] : satx::models::state_entries(*network)) {
    const bool frozen = name.rfind("features.0.", 0) == 0 || name.rfind("features.1.", 0) == 0;
    if (frozen) EXPECT_TRUE(torch::equal(tensor, initial.at(name))) << name;
  }
  EXPECT_FALSE(torch::equal(network->named_buffers()["features.2.conv.0.1.running_mean"],
                            initial.at("features.2.conv.0.1.running_mean")));
}
