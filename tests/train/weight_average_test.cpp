// The exponential moving average of weights behind `satx train -ema`.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/train/weight_average.hpp"

using namespace satx::train;

namespace {

struct Tiny : torch::nn::Module {
  torch::nn::Linear fc{nullptr}, frozen{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
  explicit Tiny(int width = 4) {
    fc = register_module("fc", torch::nn::Linear(width, 3));
    frozen = register_module("frozen", torch::nn::Linear(width, width));
    bn = register_module("bn", torch::nn::BatchNorm1d(3));
    for (auto& p : frozen->parameters()) p.set_requires_grad(false);
  }
};

}  // namespace

TEST(WeightAverage, DecayWarmsUpThenHoldsTheGivenValue) {
  EXPECT_DOUBLE_EQ(average_decay(0.999, 0), 0.1);
  EXPECT_DOUBLE_EQ(average_decay(0.999, 10), 11.0 / 20.0);
  EXPECT_DOUBLE_EQ(average_decay(0.999, 1000000), 0.999);
  EXPECT_DOUBLE_EQ(average_decay(0.5, 100), 0.5);
}

TEST(WeightAverage, AveragesTrainedParametersAndCopiesTheRest) {
  torch::manual_seed(3);
  Tiny model, average;
  WeightAverage averager(model, average, 0.9);
  EXPECT_TRUE(torch::equal(model.fc->weight, average.fc->weight));

  torch::NoGradGuard no_grad;
  const auto before = average.fc->weight.clone();
  model.fc->weight.add_(1.0);
  model.frozen->weight.add_(1.0);
  model.bn->running_mean.add_(2.0);
  model.bn->num_batches_tracked.add_(5);
  averager.update(1000);  // past the warm-up: d = 0.9
  averager.copy_untrained();

  EXPECT_TRUE(torch::allclose(average.fc->weight, before * 0.9 + model.fc->weight * 0.1, 1e-6, 1e-6));
  EXPECT_FALSE(torch::equal(average.fc->weight, model.fc->weight));
  EXPECT_TRUE(torch::equal(average.frozen->weight, model.frozen->weight));
  EXPECT_TRUE(torch::equal(average.bn->running_mean, model.bn->running_mean));
  EXPECT_EQ(average.bn->num_batches_tracked.item<int64_t>(), model.bn->num_batches_tracked.item<int64_t>());

  // Repeated updates towards a fixed model converge to it.
  for (int i = 0; i < 300; ++i) averager.update(1000 + i);
  EXPECT_TRUE(torch::allclose(average.fc->weight, model.fc->weight, 1e-5, 1e-5));
}

TEST(WeightAverage, DifferentNetworksAreRefused) {
  Tiny a(4), b(5);
  EXPECT_THROW(WeightAverage(a, b, 0.9), satx::Error);
  EXPECT_THROW(copy_weights(a, b), satx::Error);
}
