// The training loss: soft-target cross-entropy with label smoothing and class weights.
#include <cmath>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "train/detail/step.hpp"

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

TEST(Loss, FocalLossEqualsItsFormulaOnFixedTensors) {
  // Lin et al.: FL = -(1 - p_t)^gamma log p_t, averaged over samples; computed here term by term.
  const auto logits = torch::tensor({{2.0f, -1.0f, 0.5f}, {0.1f, 0.2f, 0.3f}, {-3.0f, 4.0f, 1.0f}, {1.0f, 1.0f, -2.0f}});
  const std::vector<int64_t> labels = {0, 2, 1, 2};
  const double gamma = 2.0;
  double expected = 0;
  for (int64_t i = 0; i < 4; ++i) {
    double denominator = 0;
    for (int64_t c = 0; c < 3; ++c) denominator += std::exp(logits[i][c].item<double>());
    const double p = std::exp(logits[i][labels[i]].item<double>()) / denominator;
    expected += -std::pow(1 - p, gamma) * std::log(p);
  }
  expected /= 4;
  const auto targets = F::one_hot(torch::tensor(labels, torch::kLong), 3).to(torch::kFloat);
  const auto focal = satx::train::detail::soft_focal_loss(logits, targets, gamma, 0.0, {});
  EXPECT_NEAR(focal.item<double>(), expected, 1e-6);
  // Easy tiles count less than under cross-entropy.
  EXPECT_LT(focal.item<double>(), soft_cross_entropy(logits, targets, 0.0, {}).item<double>());
}

TEST(Loss, FocalLossAtGammaZeroIsTheCrossEntropy) {
  torch::manual_seed(6);
  const auto logits = torch::randn({10, 2});
  const auto labels = torch::randint(0, 2, {10}, torch::kLong);
  const auto targets = F::one_hot(labels, 2).to(torch::kFloat);
  const auto weights = torch::tensor({1.0f, 4.0f});
  EXPECT_NEAR(satx::train::detail::soft_focal_loss(logits, targets, 0.0, 0.1, weights).item<double>(),
              soft_cross_entropy(logits, targets, 0.1, weights).item<double>(), 1e-7);
  EXPECT_NEAR(satx::train::detail::soft_focal_loss(logits, targets, 0.0, 0.0, {}).item<double>(),
              F::cross_entropy(logits, labels).item<double>(), 1e-6);
}
