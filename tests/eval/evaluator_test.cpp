// eval::evaluate over a tiny model: coverage, unreadable tiles, misclassified rows, the predictions CSV, option errors.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/data/dataset.hpp"
#include "satx/eval/evaluator.hpp"
#include "satx/infer/engine.hpp"
#include "satx/models/model_file.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

namespace fs = std::filesystem;
using namespace satx::eval;
using satx::testing::read_text;
using satx::testing::TempDir;

namespace {

// Model classes deliberately not in sorted order, so the dataset must be relabelled.
const std::vector<std::string> kBinary = {"water", "land"};
const std::vector<std::string> kThree = {"Forest", "River", "Urban"};

struct Models {
  TempDir dir;
  fs::path binary = dir / "binary.safetensors";
  fs::path binary_data = dir / "binary_data";  // 6 tiles a class
  fs::path three = dir / "three.safetensors";
  fs::path three_data = dir / "three_data";  // 4 tiles a class, head not fitted: it makes mistakes
  Models() {
    satx::testing::write_tiny_model(binary, binary_data, kBinary, 6, 32, /*fit_head=*/true);
    satx::testing::write_tiny_model(three, three_data, kThree, 4, 32, /*fit_head=*/false);
  }
};

Models& models() {
  static Models shared;
  return shared;
}

satx::Context context() { return satx::testing::cpu_context(5); }

satx::infer::InferenceEngine engine(const fs::path& model) { return satx::testing::cpu_engine(model); }

satx::data::Dataset dataset_for(const fs::path& data, const std::vector<std::string>& classes) {
  satx::data::Dataset dataset = satx::data::discover_dataset(data.string());
  satx::data::relabel(dataset, classes);
  return dataset;
}

EvalOptions small_batches() {
  EvalOptions options;
  options.scorer.batch_size = 5;
  return options;
}

// The rows of an EvalOptions::predictions file (no quoted fields in these tests), header excluded.
struct PredictionRow {
  std::string path, truth, predicted;
  float score = 0;
  std::vector<float> probabilities;
};

std::vector<PredictionRow> read_predictions(const fs::path& file, const std::string& expected_header) {
  std::istringstream in(read_text(file));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line + "\n", expected_header);
  std::vector<PredictionRow> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string field; std::getline(ss, field, ',');) fields.push_back(field);
    EXPECT_GE(fields.size(), 5u) << line;
    if (fields.size() < 5) continue;
    PredictionRow row{fields[0], fields[1], fields[2], std::stof(fields[3]), {}};
    for (size_t i = 4; i < fields.size(); ++i) row.probabilities.push_back(std::stof(fields[i]));
    rows.push_back(row);
  }
  return rows;
}

// Checks that `result.misclassified` is exactly the prediction rows whose labels differ, in order.
void expect_misclassified_match_rows(const EvalResult& result, const std::vector<PredictionRow>& rows,
                                     const std::vector<std::string>& classes) {
  std::vector<const PredictionRow*> wrong;
  for (const auto& row : rows)
    if (row.truth != row.predicted) wrong.push_back(&row);
  ASSERT_EQ(result.misclassified.size(), wrong.size());
  for (size_t i = 0; i < wrong.size(); ++i) {
    const Misclassified& m = result.misclassified[i];
    const PredictionRow& row = *wrong[i];
    EXPECT_EQ(m.path, row.path);
    EXPECT_EQ(classes.at(static_cast<size_t>(m.truth)), row.truth) << m.path;
    EXPECT_EQ(classes.at(static_cast<size_t>(m.predicted)), row.predicted) << m.path;
    EXPECT_EQ(m.score, row.score) << m.path;
    EXPECT_EQ(m.score, row.probabilities.at(static_cast<size_t>(m.predicted))) << m.path;
    EXPECT_EQ(m.truth_score, row.probabilities.at(static_cast<size_t>(m.truth))) << m.path;
  }
}

}  // namespace

TEST(Evaluate, ScoresEveryTileOfARelabelledDataset) {
  auto e = engine(models().binary);
  const auto dataset = dataset_for(models().binary_data, kBinary);
  ASSERT_EQ(dataset.samples.size(), 12u);
  const EvalResult result = evaluate(e, dataset, small_batches(), context());
  EXPECT_TRUE(result.failed.empty());
  EXPECT_EQ(result.report.samples, 12);
  EXPECT_EQ(result.report.classes, kBinary);
  EXPECT_EQ(result.report.per_class[0].support, 6);
  EXPECT_EQ(result.report.per_class[1].support, 6);
  // The head was fitted on these tiles, so relabelled truth and predictions agree.
  EXPECT_DOUBLE_EQ(result.report.accuracy, 1.0);
  EXPECT_TRUE(result.misclassified.empty());
  ASSERT_EQ(result.positive_scores.size(), 12u);
  ASSERT_EQ(result.positive_labels.size(), 12u);
  for (size_t i = 0; i < dataset.samples.size(); ++i)
    EXPECT_EQ(result.positive_labels[i], dataset.samples[i].label == 1 ? 1 : 0) << dataset.samples[i].path;
  EXPECT_FALSE(result.report.threshold);  // the model stores none and none was given
}

TEST(Evaluate, LeavesUnreadableTilesOutOfTheMetricsAndListsThem) {
  TempDir dir;
  fs::copy(models().binary_data, dir / "data", fs::copy_options::recursive);
  const fs::path bad = dir / "data" / "land" / "x.png";
  satx::testing::write_text(bad, "\x89PNG garbage, not an image");
  auto e = engine(models().binary);
  const auto dataset = dataset_for(dir / "data", kBinary);
  ASSERT_EQ(dataset.samples.size(), 13u);
  EvalOptions options = small_batches();
  options.predictions = (dir / "predictions.csv").string();
  std::vector<std::pair<int64_t, int64_t>> progress;
  const EvalResult result = evaluate(e, dataset, options, context(), [&](int64_t done, int64_t total) {
    progress.emplace_back(done, total);
  });
  ASSERT_EQ(result.failed.size(), 1u);
  EXPECT_EQ(fs::path(result.failed[0].path), bad);
  EXPECT_FALSE(result.failed[0].reason.empty());
  EXPECT_EQ(result.report.samples, 12);
  int64_t confusion_total = 0;
  for (const auto& row : result.report.confusion)
    for (int64_t count : row) confusion_total += count;
  EXPECT_EQ(confusion_total, 12);
  EXPECT_EQ(result.report.per_class[1].support, 6);  // "land" without x.png
  EXPECT_EQ(result.positive_scores.size(), 12u);
  for (const auto& m : result.misclassified) EXPECT_NE(m.path, bad.string());
  const auto rows = read_predictions(options.predictions, predictions_csv_header(kBinary));
  EXPECT_EQ(rows.size(), 12u);
  for (const auto& row : rows) EXPECT_NE(row.path, bad.string());
  // Progress counts the unreadable tile too and ends at the total.
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(int64_t(13), int64_t(13)));
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GE(progress[i].first, progress[i - 1].first);
  EXPECT_EQ(result_to_json(result, e, "m", "d")["unreadable"].get<int>(), 1);
}

TEST(Evaluate, StrictMakesAnUnreadableTileBadData) {
  TempDir dir;
  fs::copy(models().binary_data, dir / "data", fs::copy_options::recursive);
  satx::testing::write_text(dir / "data" / "water" / "x.png", "garbage");
  auto e = engine(models().binary);
  EvalOptions options = small_batches();
  options.scorer.strict = true;
  options.predictions = (dir / "predictions.csv").string();
  try {
    evaluate(e, dataset_for(dir / "data", kBinary), options, context());
    FAIL() << "strict evaluation should refuse the unreadable tile";
  } catch (const satx::Error& err) {
    EXPECT_EQ(err.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(err.what()).find("x.png"), std::string::npos) << err.what();
  }
  EXPECT_FALSE(fs::exists(options.predictions));  // written atomically at the end only
}

TEST(Evaluate, PredictionsCsvHoldsOneRowPerTileInModelColumnOrder) {
  TempDir dir;
  auto e = engine(models().binary);
  const auto dataset = dataset_for(models().binary_data, kBinary);
  EvalOptions options = small_batches();
  options.predictions = (dir / "out" / "predictions.csv").string();
  const EvalResult result = evaluate(e, dataset, options, context());
  EXPECT_EQ(predictions_csv_header(kBinary), "path,true_label,predicted_label,score,water,land\n");
  const auto rows = read_predictions(options.predictions, predictions_csv_header(kBinary));
  ASSERT_EQ(rows.size(), dataset.samples.size());
  int64_t correct = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    EXPECT_EQ(row.path, dataset.samples[i].path);  // dataset order
    EXPECT_EQ(row.truth, kBinary[static_cast<size_t>(dataset.samples[i].label)]);
    ASSERT_EQ(row.probabilities.size(), 2u);
    EXPECT_NEAR(row.probabilities[0] + row.probabilities[1], 1.0, 1e-5);
    // No threshold: the predicted label is the argmax and its probability is the score.
    const size_t argmax = row.probabilities[1] > row.probabilities[0] ? 1 : 0;
    EXPECT_EQ(row.predicted, kBinary[argmax]) << row.path;
    EXPECT_EQ(row.score, row.probabilities[argmax]);
    EXPECT_EQ(row.probabilities[1], result.positive_scores[i]);
    correct += row.truth == row.predicted;
  }
  EXPECT_DOUBLE_EQ(result.report.accuracy, static_cast<double>(correct) / static_cast<double>(rows.size()));
}

TEST(Evaluate, MisclassifiedAreExactlyTheRowsWhosePredictionDiffersUnderAThreshold) {
  TempDir dir;
  auto e = engine(models().binary);
  const auto dataset = dataset_for(models().binary_data, kBinary);
  EvalOptions options = small_batches();
  options.threshold = 0.0;  // every tile is decided "land" (class 1)
  options.predictions = (dir / "predictions.csv").string();
  const EvalResult result = evaluate(e, dataset, options, context());
  ASSERT_TRUE(result.report.threshold);
  EXPECT_DOUBLE_EQ(*result.report.threshold, 0.0);
  EXPECT_DOUBLE_EQ(result.report.accuracy, 0.5);
  ASSERT_EQ(result.misclassified.size(), 6u);
  for (const auto& m : result.misclassified) {
    EXPECT_EQ(m.truth, 0);
    EXPECT_EQ(m.predicted, 1);
    EXPECT_NEAR(m.score + m.truth_score, 1.0, 1e-5);
  }
  const auto rows = read_predictions(options.predictions, predictions_csv_header(kBinary));
  for (const auto& row : rows) EXPECT_EQ(row.predicted, "land") << row.path;
  expect_misclassified_match_rows(result, rows, kBinary);
}

TEST(Evaluate, MisclassifiedMatchThePredictionsCsvForAnArgmaxModel) {
  TempDir dir;
  auto e = engine(models().three);
  const auto dataset = dataset_for(models().three_data, kThree);
  EvalOptions options = small_batches();
  options.predictions = (dir / "predictions.csv").string();
  const EvalResult result = evaluate(e, dataset, options, context());
  EXPECT_EQ(result.report.samples, 12);
  const auto rows = read_predictions(options.predictions, predictions_csv_header(kThree));
  ASSERT_EQ(rows.size(), 12u);
  ASSERT_FALSE(result.misclassified.empty()) << "the unfitted head should make mistakes for this check to bite";
  expect_misclassified_match_rows(result, rows, kThree);
  int64_t wrong = 0;
  for (const auto& row : rows) wrong += row.truth != row.predicted;
  EXPECT_NEAR(result.report.accuracy, 1.0 - static_cast<double>(wrong) / 12.0, 1e-12);
  EXPECT_FALSE(result.report.binary);
  EXPECT_TRUE(result.positive_scores.empty());
}

TEST(Evaluate, KeepsTheLeastConfidentCorrectTilesLowestScoreFirstWhenAsked) {
  TempDir dir;
  auto e = engine(models().binary);
  const auto dataset = dataset_for(models().binary_data, kBinary);
  EvalOptions options = small_batches();
  options.predictions = (dir / "predictions.csv").string();
  EXPECT_TRUE(evaluate(e, dataset, options, context()).least_confident.empty());  // off by default
  options.least_confident = 5;
  const EvalResult result = evaluate(e, dataset, options, context());
  std::vector<float> correct_scores;
  for (const auto& row : read_predictions(options.predictions, predictions_csv_header(kBinary)))
    if (row.truth == row.predicted) correct_scores.push_back(row.score);
  std::sort(correct_scores.begin(), correct_scores.end());
  ASSERT_EQ(result.least_confident.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    const ScoredTile& tile = result.least_confident[i];
    EXPECT_EQ(tile.truth, tile.predicted) << tile.path;
    EXPECT_EQ(tile.score, correct_scores[i]) << tile.path;
  }
}

TEST(Evaluate, RejectsADatasetWhoseClassesAreNotInTheModelOrder) {
  TempDir dir;
  auto e = engine(models().binary);
  // discover_dataset sorts the classes ("land", "water"); the model has ("water", "land").
  const auto unrelabelled = satx::data::discover_dataset(models().binary_data.string());
  ASSERT_NE(unrelabelled.classes, kBinary);
  EvalOptions options = small_batches();
  options.predictions = (dir / "predictions.csv").string();
  try {
    evaluate(e, unrelabelled, options, context());
    FAIL() << "classes in another order must be refused";
  } catch (const satx::Error& err) {
    EXPECT_EQ(err.code(), satx::ErrorCode::Usage);
  }
  EXPECT_FALSE(fs::exists(options.predictions));
}

TEST(Evaluate, ThresholdOverrideOnAThreeClassModelIsUsage) {
  auto e = engine(models().three);
  const auto dataset = dataset_for(models().three_data, kThree);
  EvalOptions options = small_batches();
  options.threshold = 0.5;
  try {
    evaluate(e, dataset, options, context());
    FAIL() << "a threshold applies to two-class models only";
  } catch (const satx::Error& err) {
    EXPECT_EQ(err.code(), satx::ErrorCode::Usage);
    EXPECT_EQ(err.field(), "threshold");
  }
}

TEST(Evaluate, ThresholdOutsideZeroToOneIsUsage) {
  auto e = engine(models().binary);
  const auto dataset = dataset_for(models().binary_data, kBinary);
  for (double bad : {-0.1, 1.5}) {
    EvalOptions options = small_batches();
    options.threshold = bad;
    try {
      evaluate(e, dataset, options, context());
      ADD_FAILURE() << "threshold " << bad << " should be refused";
    } catch (const satx::Error& err) {
      EXPECT_EQ(err.code(), satx::ErrorCode::Usage);
      EXPECT_EQ(err.field(), "threshold");
    }
  }
}

TEST(Evaluate, TopkIsOffByDefaultForFewClassesAndCountsWhenAsked) {
  auto e = engine(models().three);
  const auto dataset = dataset_for(models().three_data, kThree);
  EXPECT_EQ(resolve_topk(-1, 3), 0);
  EXPECT_EQ(resolve_topk(-1, 6), 5);
  EXPECT_EQ(resolve_topk(2, 3), 2);
  EvalOptions options = small_batches();
  EXPECT_EQ(evaluate(e, dataset, options, context()).report.topk, 0);
  options.topk = 3;  // every class is in the top 3 of 3
  const Report report = evaluate(e, dataset, options, context()).report;
  EXPECT_EQ(report.topk, 3);
  EXPECT_DOUBLE_EQ(report.topk_accuracy, 1.0);
  options.topk = -2;
  try {
    evaluate(e, dataset, options, context());
    FAIL() << "topk -2 should be refused";
  } catch (const satx::Error& err) {
    EXPECT_EQ(err.code(), satx::ErrorCode::Usage);
    EXPECT_EQ(err.field(), "topk");
  }
}
