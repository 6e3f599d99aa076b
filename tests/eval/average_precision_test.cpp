// val_ap and eval's PR-AUC against scikit-learn's average_precision_score, an independent
// implementation, on fixed scores with ties.
#include <cstdio>
#include <random>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/eval/metrics.hpp"
#include "satx/eval/threshold.hpp"
#include "support/python_support.hpp"

using satx::testing::TempDir;

TEST(AveragePrecision, EqualsScikitLearnOnFixedScores) {
  SATX_REQUIRE_PYTHON(python, "sklearn");
  // 3% positives, scores rounded to two decimals so ties between classes occur.
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> scores;
  std::vector<uint8_t> labels;
  for (int i = 0; i < 600; ++i) {
    const bool positive = i % 33 == 0;
    const float z = noise(rng) + (positive ? 1.5f : 0.0f);
    scores.push_back(std::round(100.0f / (1.0f + std::exp(-z))) / 100.0f);
    labels.push_back(positive ? 1 : 0);
  }
  TempDir dir;
  std::string scores_text, labels_text;
  for (size_t i = 0; i < scores.size(); ++i) {
    char item[32];
    std::snprintf(item, sizeof item, "%s%.9g", i ? "," : "", scores[i]);
    scores_text += item;
    labels_text += (i ? "," : "") + std::to_string(labels[i]);
  }
  satx::testing::run_python(python, dir.path(),
                            "from sklearn.metrics import average_precision_score\n"
                            "scores = [" + scores_text + "]\nlabels = [" + labels_text + "]\n"
                            "open('" + (dir / "ap.txt").string() + "', 'w').write(repr(average_precision_score(labels, scores)))\n");
  const double reference = std::stod(satx::testing::read_text(dir / "ap.txt"));
  EXPECT_NEAR(satx::eval::average_precision(scores, labels), reference, 1e-9);

  // The metrics report (what training's val_ap and eval's pr_auc read) gives the same figure.
  satx::eval::MetricsAccumulator accumulator({"background", "tower"}, 0);
  const auto positive = torch::tensor(scores);
  const auto probabilities = torch::stack({1 - positive, positive}, 1);
  std::vector<int64_t> truth(labels.begin(), labels.end());
  accumulator.add(probabilities, torch::tensor(truth, torch::kLong), probabilities.argmax(1));
  EXPECT_NEAR(accumulator.report().binary->pr_auc, reference, 1e-6);
}
