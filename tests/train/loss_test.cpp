// The training loss: soft-target cross-entropy with label smoothing and class weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "train/detail/loops.hpp"

namespace F = torch::nn::functional;
using satx::train::detail::soft_cross_entropy;

TEST(Loss, ClassWeightsGiveAWeightedMeanLikePyTorch) {
  torch::manual_seed(4);
  const auto logits = torch::randn({6, 3});
  const auto labels = torch::tensor({0, 1, 2, 2, 1, 2}, torch::kLong);
  const auto weights = torch::tensor({1.0f, 2.0f, 5.0f});
  const auto ours = soft_cross_entropy(logits, F::one_hot(labels, 3).to(torch::kFloat), 0.0, weights);
  const auto reference = F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().weight(weights));
  EXPECT_NEAR(ours.item<double>(), reference.item<double>(), 1e-6);
  // Weights change the loss: a rare class counts more.
  const auto unweighted = soft_cross_entropy(logits, F::one_hot(labels, 3).to(torch::kFloat), 0.0, {});
  EXPECT_GT(std::abs(ours.item<double>() - unweighted.item<double>()), 1e-3);
}

TEST(Loss, LabelSmoothingMatchesPyTorch) {
  torch::manual_seed(5);
  const auto logits = torch::randn({8, 4});
  const auto labels = torch::randint(0, 4, {8}, torch::kLong);
  const auto ours = soft_cross_entropy(logits, F::one_hot(labels, 4).to(torch::kFloat), 0.1, {});
  const auto reference = F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().label_smoothing(0.1));
  EXPECT_NEAR(ours.item<double>(), reference.item<double>(), 1e-6);
}
