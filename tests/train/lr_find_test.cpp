// The learning-rate range test: where it suggests, and that it stops at divergence.
#include <cmath>

#include <gtest/gtest.h>

#include "satx/train/trainer.hpp"
#include "support/test_support.hpp"
#include "train/train_fixture.hpp"

using namespace satx::train;
using Fixture = satx::testing::TrainFixture;
using satx::testing::test_context;
using satx::testing::write_weights;

TEST(LrFind, SuggestsTheRateOfSteepestDescentBeforeTheMinimum) {
  LrFindResult curve;
  // The loss falls fastest around 1e-3 (a logistic drop in log10(rate)), bottoms out near 3e-2
  // and climbs after it.
  for (int i = 0; i <= 60; ++i) {
    const double exponent = -6.0 + 0.1 * i, lr = std::pow(10.0, exponent);
    const double drop = 1.0 / (1.0 + std::exp(-4.0 * (exponent + 3.0)));
    const double climb = exponent > -1.5 ? 3.0 * (exponent + 1.5) * (exponent + 1.5) : 0.0;
    curve.learning_rates.push_back(lr);
    curve.smoothed_losses.push_back(2.0 - 1.5 * drop + climb);
  }
  curve.losses = curve.smoothed_losses;
  suggest_learning_rate(curve);
  EXPECT_NEAR(std::log10(curve.suggested), -3.0, 0.11);
  EXPECT_NEAR(std::log10(curve.min_loss_lr), -1.5, 0.11);

  // A loss that only rises: a tenth of the best rate.
  LrFindResult rising;
  for (int i = 0; i < 20; ++i) {
    rising.learning_rates.push_back(std::pow(10.0, -5.0 + 0.2 * i));
    rising.smoothed_losses.push_back(1.0 + i);
  }
  rising.losses = rising.smoothed_losses;
  suggest_learning_rate(rising);
  EXPECT_DOUBLE_EQ(rising.min_loss_lr, 1e-5);
  EXPECT_DOUBLE_EQ(rising.suggested, 1e-6);
}

TEST(LrFind, SweepsUpToDivergenceAndWritesCurveAndPlot) {
  Fixture f;
  auto o = f.options("lr");
  o.data.weights = write_weights(f.dir / "calibrated.safetensors", /*calibrated=*/true).string();
  o.lr_find.steps = 30;
  o.lr_find.min_lr = 1e-6;
  o.lr_find.max_lr = 10.0;
  const auto result = lr_find(o, test_context());
  ASSERT_GE(result.learning_rates.size(), 5u);
  for (size_t i = 1; i < result.learning_rates.size(); ++i)
    EXPECT_GT(result.learning_rates[i], result.learning_rates[i - 1]);
  EXPECT_DOUBLE_EQ(result.learning_rates.front(), 1e-6);
  // A rate of 10 wrecks any network: the sweep notices and stops before its end.
  EXPECT_TRUE(result.diverged);
  EXPECT_LT(result.learning_rates.size(), 30u);
  // The suggestion lies where the loss was still falling, well below where it blew up.
  EXPECT_LT(result.suggested, result.learning_rates.back() / 10);
  EXPECT_GE(result.suggested, 1e-6);
  write_lr_find_outputs(result, f.dir / "lr.csv", f.dir / "lr.png");
  const auto csv = satx::testing::read_text(f.dir / "lr.csv");
  EXPECT_EQ(csv.rfind("lr,loss,smoothed_loss\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), static_cast<long>(result.learning_rates.size() + 1));
  const auto png = satx::testing::read_text(f.dir / "lr.png");
  EXPECT_EQ(png.substr(1, 3), "PNG");
}
