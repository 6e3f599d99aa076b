#pragma once
/// Classification metrics: accuracy, top-k, per-class precision/recall/F1, macro and weighted
/// averages, confusion matrix, log loss, and for two classes ROC-AUC, PR-AUC and a threshold
/// table. Accumulated batch by batch, so memory does not grow with the data (except the
/// positive-class scores binary models keep for the curves: 9 bytes a tile).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace satx::eval {

/// Precision, recall and F1 of one class (one-vs-rest), with its support.
struct ClassMetrics {
  std::string name;
  double precision = 0;  ///< 0 when the class was never predicted
  double recall = 0;     ///< 0 when the class has no samples
  double f1 = 0;
  int64_t support = 0;   ///< samples whose true label is this class
  int64_t predicted = 0; ///< samples predicted as this class
};

/// An average over classes.
struct AveragedMetrics {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
};

/// The binary operating characteristics at one threshold (positive = class 1 when its
/// probability >= threshold).
struct ThresholdPoint {
  double threshold = 0;
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  double precision = 0;  ///< tp / (tp + fp); 1 when nothing is predicted positive
  double recall = 0;     ///< tp / (tp + fn), the true positive rate
  double fpr = 0;        ///< fp / (fp + tn)
  double f1 = 0;
  double youden = 0;     ///< recall - fpr
};

/// Two-class extras.
struct BinaryMetrics {
  std::string positive_class;  ///< classes[1]
  double roc_auc = 0;          ///< NaN when the data has only one class
  double pr_auc = 0;           ///< average precision (step-wise area, as scikit-learn); NaN without positives
  std::vector<ThresholdPoint> table;  ///< thresholds 0.05, 0.10, ..., 0.95
};

/// Everything `satx eval` reports.
struct Report {
  std::vector<std::string> classes;
  int64_t samples = 0;
  double accuracy = 0;
  int topk = 0;                ///< 0 when top-k was not computed
  double topk_accuracy = 0;
  double log_loss = 0;         ///< mean -ln p(true class), p clamped to [1e-15, 1]
  std::vector<ClassMetrics> per_class;
  AveragedMetrics macro;       ///< unweighted mean over classes
  AveragedMetrics weighted;    ///< mean weighted by support
  std::vector<std::vector<int64_t>> confusion;  ///< [true][predicted] counts
  std::optional<double> threshold;              ///< binary decision threshold used, when one was
  std::optional<BinaryMetrics> binary;

  /// Rows of `confusion` divided by their sums (all-zero rows stay zero).
  std::vector<std::vector<double>> confusion_normalized() const;
};

/// Streams (probabilities, true labels, predicted labels) into a Report.
class MetricsAccumulator {
 public:
  /// `topk` 0 skips top-k; `threshold` is the binary decision threshold that produced the
  /// predicted labels (reported only). Usage error for fewer than two classes.
  MetricsAccumulator(std::vector<std::string> classes, int topk, std::optional<double> threshold = std::nullopt);
  /// Adds a batch: float probabilities [n, C] (CPU), int64 true labels [n] in [0, C),
  /// int64 predicted labels [n]. BadData for labels out of range.
  void add(const torch::Tensor& probabilities, const torch::Tensor& labels, const torch::Tensor& predicted);
  /// The metrics so far.
  Report report() const;
  /// Binary models: the positive-class probabilities and the true labels seen, for curves
  /// and threshold selection.
  const std::vector<float>& positive_scores() const { return scores_; }
  const std::vector<uint8_t>& positive_labels() const { return positives_; }
  int64_t samples() const { return samples_; }

 private:
  std::vector<std::string> classes_;
  int topk_;
  std::optional<double> threshold_;
  std::vector<std::vector<int64_t>> confusion_;
  int64_t samples_ = 0;
  int64_t topk_hits_ = 0;
  double log_loss_sum_ = 0;
  std::vector<float> scores_;
  std::vector<uint8_t> positives_;
};

/// Metrics from a finished confusion matrix (what MetricsAccumulator::report uses).
void fill_class_metrics(Report& report);

}  // namespace satx::eval
