#include <cmath>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/eval/gate.hpp"
#include "satx/eval/metrics.hpp"
#include "satx/eval/threshold.hpp"
#include "satx/infer/engine.hpp"

using namespace satx::eval;

namespace {

// Six tiles of three classes; truth 0,0,1,1,2,2 and argmax predictions 0,1,1,1,2,0.
Report three_class_report(int topk = 2) {
  const torch::Tensor probabilities = torch::tensor({0.6f, 0.3f, 0.1f,    //
                                                     0.3f, 0.5f, 0.2f,    //
                                                     0.2f, 0.7f, 0.1f,    //
                                                     0.25f, 0.5f, 0.25f,  //
                                                     0.1f, 0.1f, 0.8f,    //
                                                     0.5f, 0.3f, 0.2f})
                                          .view({6, 3});
  const torch::Tensor truth = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kLong);
  MetricsAccumulator metrics({"a", "b", "c"}, topk);
  // Two batches, to exercise accumulation.
  for (int start : {0, 4}) {
    const int end = start == 0 ? 4 : 6;
    auto p = probabilities.slice(0, start, end);
    metrics.add(p, truth.slice(0, start, end), satx::infer::decide_labels(p, std::nullopt));
  }
  return metrics.report();
}

const std::vector<float> kScores = {0.9f, 0.8f, 0.7f, 0.6f, 0.55f, 0.4f, 0.3f, 0.2f};
const std::vector<uint8_t> kLabels = {1, 1, 0, 1, 0, 0, 1, 0};

}  // namespace

TEST(Metrics, ComputesPerClassAndAveragesFromConfusion) {
  const Report r = three_class_report();
  EXPECT_EQ(r.samples, 6);
  EXPECT_EQ(r.confusion, (std::vector<std::vector<int64_t>>{{1, 1, 0}, {0, 2, 0}, {1, 0, 1}}));
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.per_class[1].recall, 1.0);
  EXPECT_NEAR(r.per_class[1].f1, 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(r.per_class[2].precision, 1.0);
  EXPECT_NEAR(r.per_class[2].f1, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.macro.f1, (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-12);
  EXPECT_NEAR(r.weighted.recall, r.accuracy, 1e-12);
  EXPECT_EQ(r.per_class[2].support, 2);
  EXPECT_EQ(r.topk, 2);
  EXPECT_DOUBLE_EQ(r.topk_accuracy, 5.0 / 6.0);  // only the last tile's truth is third
  const double expected_loss =
      -(std::log(0.6) + std::log(0.3) + std::log(0.7) + std::log(0.5) + std::log(0.8) + std::log(0.2)) / 6.0;
  EXPECT_NEAR(r.log_loss, expected_loss, 1e-6);
  EXPECT_FALSE(r.binary);
  auto normalized = r.confusion_normalized();
  EXPECT_DOUBLE_EQ(normalized[2][0], 0.5);
  EXPECT_DOUBLE_EQ(normalized[1][1], 1.0);
}

TEST(Metrics, RejectsLabelsOutsideTheClasses) {
  MetricsAccumulator metrics({"a", "b"}, 0);
  auto p = torch::tensor({0.5f, 0.5f}).view({1, 2});
  EXPECT_THROW(metrics.add(p, torch::tensor({2}, torch::kLong), torch::tensor({0}, torch::kLong)), satx::Error);
}

TEST(BinaryCurves, MatchHandComputedAreas) {
  EXPECT_DOUBLE_EQ(roc_auc(kScores, kLabels), 12.0 / 16.0);
  EXPECT_NEAR(average_precision(kScores, kLabels), 0.25 + 0.25 + 0.25 * 0.75 + 0.25 * 4.0 / 7.0, 1e-12);
  // Ties between a positive and a negative count half.
  EXPECT_DOUBLE_EQ(roc_auc({0.5f, 0.5f}, {1, 0}), 0.5);
  EXPECT_TRUE(std::isnan(roc_auc({0.5f, 0.7f}, {1, 1})));
}

TEST(ChooseThreshold, PicksTheOperatingPointEachRuleAsksFor) {
  auto pick = [](const std::string& rule) { return choose_threshold(kScores, kLabels, parse_threshold_criterion(rule)); };
  ThresholdPoint youden = pick("youden");  // J = 0.5 first reached between 0.8 and 0.7
  EXPECT_NEAR(youden.threshold, 0.75, 1e-6);
  EXPECT_DOUBLE_EQ(youden.youden, 0.5);
  ThresholdPoint f1 = pick("f1");  // P = R = 0.75 between 0.6 and 0.55
  EXPECT_NEAR(f1.threshold, 0.575, 1e-6);
  EXPECT_DOUBLE_EQ(f1.f1, 0.75);
  ThresholdPoint precise = pick("precision>=0.9");  // the most recall at precision 1
  EXPECT_NEAR(precise.threshold, 0.75, 1e-6);
  EXPECT_DOUBLE_EQ(precise.recall, 0.5);
  ThresholdPoint sensitive = pick("recall>=0.9");  // all positives, fewest false alarms
  EXPECT_NEAR(sensitive.threshold, 0.25, 1e-6);
  EXPECT_EQ(sensitive.tp, 4);
  EXPECT_EQ(sensitive.fp, 3);
  // The chosen threshold reproduces its operating point when applied.
  ThresholdPoint again = evaluate_threshold(kScores, kLabels, sensitive.threshold);
  EXPECT_EQ(again.tp, sensitive.tp);
  EXPECT_EQ(again.fp, sensitive.fp);
}

TEST(ChooseThreshold, ExplainsUnreachableTargetsAndBadRules) {
  try {
    choose_threshold({0.5f, 0.5f}, {1, 0}, parse_threshold_criterion("precision>=0.9"));
    FAIL();
  } catch (const satx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("best precision is 0.5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(choose_threshold({0.5f}, {1}, parse_threshold_criterion("f1")), satx::Error);
  for (const char* bad : {"youdn", "precision>=", "recall>=1.5", "precision>=abc"}) {
    try {
      parse_threshold_criterion(bad);
      ADD_FAILURE() << bad;
    } catch (const satx::Error& e) {
      EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    }
  }
}

TEST(BinaryReport, HasCurvesAndThresholdTable) {
  MetricsAccumulator metrics({"neg", "pos"}, 0, 0.5);
  std::vector<float> flat;
  for (float s : kScores) {
    flat.push_back(1 - s);
    flat.push_back(s);
  }
  auto p = torch::tensor(flat).view({8, 2});
  auto truth = torch::tensor(std::vector<int64_t>(kLabels.begin(), kLabels.end()));
  metrics.add(p, truth, satx::infer::decide_labels(p, 0.5));
  Report r = metrics.report();
  ASSERT_TRUE(r.binary);
  EXPECT_EQ(r.binary->positive_class, "pos");
  EXPECT_DOUBLE_EQ(r.binary->roc_auc, 0.75);
  ASSERT_EQ(r.binary->table.size(), 19u);
  EXPECT_NEAR(r.binary->table[9].threshold, 0.5, 1e-12);
  EXPECT_EQ(r.binary->table[9].tp, 3);  // 0.9, 0.8, 0.6
  EXPECT_EQ(r.binary->table[9].fp, 2);  // 0.7, 0.55
  EXPECT_DOUBLE_EQ(r.accuracy, 5.0 / 8.0);
}

TEST(DecideLabels, UsesTheThresholdOnlyForTwoClasses) {
  auto p = torch::tensor({0.7f, 0.3f, 0.45f, 0.55f}).view({2, 2});
  EXPECT_TRUE(satx::infer::decide_labels(p, 0.25).equal(torch::tensor({1, 1}, torch::kLong)));
  EXPECT_TRUE(satx::infer::decide_labels(p, std::nullopt).equal(torch::tensor({0, 1}, torch::kLong)));
  auto three = torch::tensor({0.2f, 0.5f, 0.3f}).view({1, 3});
  EXPECT_TRUE(satx::infer::decide_labels(three, 0.1).equal(torch::tensor({1}, torch::kLong)));
}

TEST(QualityGate, FailsBelowTheFloorAndNamesTheMetric) {
  const Report r = three_class_report();
  auto failures = check_gates(r, {parse_quality_gate("accuracy=0.999"), parse_quality_gate("macro_f1=0.5"),
                                  parse_quality_gate("recall:b=1"), parse_quality_gate("f1:a=0.6")});
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].metric, "accuracy");
  EXPECT_EQ(failures[0].message(), "accuracy = 0.6667 is below the floor 0.999");
  EXPECT_EQ(failures[1].metric, "f1:a");
  EXPECT_TRUE(check_gates(r, {parse_quality_gate("accuracy=0.5")}).empty());
  EXPECT_TRUE(check_gates(r, {parse_quality_gate("topk_accuracy=0.8")}).empty());
}

TEST(QualityGate, RejectsUnknownMetricsAndBadFloors) {
  for (const char* bad : {"acuracy=0.9", "accuracy", "accuracy=high", "=0.5"}) {
    try {
      parse_quality_gate(bad);
      ADD_FAILURE() << bad;
    } catch (const satx::Error& e) {
      EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    }
  }
  try {
    parse_quality_gate("acuracy=0.9");
  } catch (const satx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'accuracy'"), std::string::npos) << e.what();
  }
  const Report r = three_class_report();
  EXPECT_THROW(check_gates(r, {parse_quality_gate("roc_auc=0.9")}), satx::Error);  // three classes
  EXPECT_THROW(check_gates(r, {parse_quality_gate("recall:zebra=0.9")}), satx::Error);
}
