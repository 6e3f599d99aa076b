#include <cmath>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/train/schedule.hpp"

using satx::train::LrSchedule;
using satx::train::ScheduleOptions;

namespace {

// 5 epochs of 10 steps.
const satx::train::ScheduleShape kShape{10, 5, true, 0.0};

ScheduleOptions options_for(const std::string& kind) {
  ScheduleOptions o;
  o.kind = satx::train::parse_schedule_kind(kind);
  o.warmup_epochs = 0;
  return o;
}

}  // namespace

TEST(LrSchedule, CosineWarmsUpLinearlyThenDecaysToTheFloor) {
  auto o = options_for("cosine");
  o.warmup_epochs = 1.0;  // 10 steps
  o.min_ratio = 0.01;
  LrSchedule schedule(o, kShape);
  for (int step = 1; step < 10; ++step) EXPECT_GT(schedule.factor(step), schedule.factor(step - 1)) << step;
  EXPECT_NEAR(schedule.factor(0), 1.0 / 11.0, 1e-12);
  EXPECT_NEAR(schedule.factor(10), 1.0, 1e-12);
  for (int step = 11; step < 50; ++step) EXPECT_LT(schedule.factor(step), schedule.factor(step - 1)) << step;
  EXPECT_NEAR(schedule.factor(49), 0.01, 1e-12);
  // The decay follows half a cosine from the peak (step 10) to the floor (step 49).
  for (int step : {15, 29, 40})
    EXPECT_NEAR(schedule.factor(step), 0.01 + 0.99 * 0.5 * (1 + std::cos(M_PI * (step - 10) / 39.0)), 1e-12) << step;
}

TEST(LrSchedule, CosineWithoutWarmupStartsAtThePeak) {
  LrSchedule schedule(options_for("cosine"), kShape);
  EXPECT_DOUBLE_EQ(schedule.factor(0), 1.0);
  EXPECT_NEAR(schedule.factor(49), 0.0, 1e-12);
}

TEST(LrSchedule, OneCycleRisesForThirtyPercentThenAnneals) {
  LrSchedule schedule(options_for("onecycle"), kShape);
  EXPECT_NEAR(schedule.factor(0), 1.0 / 25.0, 1e-12);
  const double rise_end = 0.3 * 49;
  int peak = 0;
  for (int step = 1; step < 50; ++step)
    if (schedule.factor(step) > schedule.factor(peak)) peak = step;
  EXPECT_NEAR(peak, rise_end, 1.0);
  EXPECT_NEAR(schedule.factor(49), 1.0 / 25.0 / 1e4, 1e-12);
  for (int step = peak + 1; step < 50; ++step) EXPECT_LE(schedule.factor(step), schedule.factor(step - 1));
}

TEST(LrSchedule, StepDecaysEveryNEpochs) {
  auto o = options_for("step");
  o.step_every = 2;
  o.gamma = 0.5;
  LrSchedule schedule(o, kShape);
  EXPECT_DOUBLE_EQ(schedule.factor(0), 1.0);
  EXPECT_DOUBLE_EQ(schedule.factor(19), 1.0);
  EXPECT_DOUBLE_EQ(schedule.factor(20), 0.5);
  EXPECT_DOUBLE_EQ(schedule.factor(39), 0.5);
  EXPECT_DOUBLE_EQ(schedule.factor(40), 0.25);
}

TEST(LrSchedule, PlateauDecaysOnlyAfterPatienceEpochsWithoutImprovement) {
  auto o = options_for("plateau");
  o.plateau_patience = 1;
  o.gamma = 0.1;
  LrSchedule schedule(o, kShape);
  schedule.end_epoch(0.5);
  schedule.end_epoch(0.6);
  EXPECT_DOUBLE_EQ(schedule.factor(30), 1.0);
  schedule.end_epoch(0.6);  // first epoch without improvement: within patience
  EXPECT_DOUBLE_EQ(schedule.factor(40), 1.0);
  schedule.end_epoch(0.59);  // second: decay
  EXPECT_NEAR(schedule.factor(0), 0.1, 1e-12);

  // The decayed state survives a save/load round trip.
  LrSchedule restored(o, kShape);
  restored.load_state(schedule.state());
  EXPECT_NEAR(restored.factor(0), 0.1, 1e-12);
}

TEST(LrSchedule, ConstantIsFlat) {
  LrSchedule schedule(options_for("constant"), kShape);
  for (int step = 0; step < 50; step += 7) EXPECT_DOUBLE_EQ(schedule.factor(step), 1.0);
}

TEST(LrSchedule, RejectsAnUnknownKindWithSuggestion) {
  try {
    LrSchedule schedule(options_for("cosin"), kShape);
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    EXPECT_NE(std::string(e.what()).find("cosine"), std::string::npos);
  }
}
