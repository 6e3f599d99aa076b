#include <cmath>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/train/early_stopping.hpp"

using satx::train::EarlyStopping;
using satx::train::Monitor;

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping stopping({Monitor::Accuracy, 2, 0.0});
  EXPECT_TRUE(stopping.update(0.80));
  EXPECT_TRUE(stopping.update(0.85));
  EXPECT_FALSE(stopping.update(0.85));
  EXPECT_FALSE(stopping.should_stop());
  EXPECT_FALSE(stopping.update(0.84));
  EXPECT_TRUE(stopping.should_stop());
  EXPECT_DOUBLE_EQ(stopping.best(), 0.85);
}

TEST(EarlyStopping, ImprovementResetsPatience) {
  EarlyStopping stopping({Monitor::Accuracy, 2, 0.0});
  stopping.update(0.5);
  stopping.update(0.4);
  EXPECT_TRUE(stopping.update(0.6));
  EXPECT_EQ(stopping.bad_epochs(), 0);
  stopping.update(0.6);
  EXPECT_FALSE(stopping.should_stop());
}

TEST(EarlyStopping, MinimizesLossAndHonoursMinDelta) {
  EarlyStopping stopping({Monitor::Loss, 1, 0.05});
  EXPECT_TRUE(stopping.update(1.0));
  EXPECT_FALSE(stopping.update(0.97));  // better, but by less than min_delta
  EXPECT_TRUE(stopping.should_stop());
  EarlyStopping other({Monitor::Loss, 1, 0.05});
  other.update(1.0);
  EXPECT_TRUE(other.update(0.9));
}

TEST(EarlyStopping, NeverStopsWithZeroPatienceAndIgnoresNaN) {
  EarlyStopping stopping({Monitor::MacroF1, 0, 0.0});
  stopping.update(0.5);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(stopping.update(std::nan("")));
  EXPECT_FALSE(stopping.should_stop());
  EXPECT_DOUBLE_EQ(stopping.best(), 0.5);
}

TEST(EarlyStopping, StateRoundTrips) {
  EarlyStopping stopping({Monitor::Accuracy, 3, 0.0});
  stopping.update(0.7);
  stopping.update(0.6);
  EarlyStopping restored({Monitor::Accuracy, 3, 0.0});
  restored.load_state(stopping.state());
  EXPECT_DOUBLE_EQ(restored.best(), 0.7);
  EXPECT_EQ(restored.bad_epochs(), 1);
}

TEST(Monitor, AnUnknownNameIsAUsageErrorThatSuggestsTheRightOne) {
  try {
    satx::train::parse_monitor("val_acc");
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    EXPECT_NE(std::string(e.what()).find("val_accuracy"), std::string::npos);
  }
}

TEST(Monitor, KeysRoundTrip) {
  for (const auto monitor : {Monitor::Accuracy, Monitor::Loss, Monitor::MacroF1, Monitor::Auc, Monitor::Ap})
    EXPECT_EQ(satx::train::parse_monitor(satx::train::monitor_key(monitor)), monitor);
  EXPECT_FALSE(satx::train::maximized(Monitor::Loss));
  EXPECT_TRUE(satx::train::maximized(Monitor::Ap));
}
