#pragma once
/// Binary operating points: ROC/PR summaries and choosing the decision threshold that
/// `eval -choose-threshold` stores in the model file for `predict`.

#include <cstdint>
#include <string>
#include <vector>

#include "satx/eval/metrics.hpp"

namespace satx::eval {

/// A rule for choosing a threshold.
struct ThresholdCriterion {
  enum class Kind {
    Youden,        ///< maximize recall - false positive rate
    F1,            ///< maximize F1
    MinPrecision,  ///< the highest recall among thresholds with precision >= target
    MinRecall,     ///< the highest precision among thresholds with recall >= target
  };
  Kind kind = Kind::Youden;
  double target = 0;
  std::string text;  ///< as given, for messages and metadata
};

/// Parses "youden", "f1", "precision>=P" or "recall>=R" (0 < P, R <= 1); a Usage error
/// naming `text` otherwise.
ThresholdCriterion parse_threshold_criterion(const std::string& text);

/// The operating point at `threshold` (positive when score >= threshold).
ThresholdPoint evaluate_threshold(const std::vector<float>& scores, const std::vector<uint8_t>& labels, double threshold);

/// The chosen operating point. Candidate thresholds lie midway between consecutive distinct
/// scores (robust to rounding); ties go to the higher threshold. Runtime error when the data
/// lacks positives or negatives, or no threshold meets a MinPrecision/MinRecall target (the
/// message gives the best value reachable).
ThresholdPoint choose_threshold(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                                const ThresholdCriterion& criterion);

/// The operating point at every distinct score, highest threshold first (threshold = the
/// score, positive when score >= it): the ROC and precision-recall curves. Empty for no scores.
std::vector<ThresholdPoint> threshold_curve(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

/// Area under the ROC curve (ties counted half); NaN without both classes.
double roc_auc(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

/// Average precision: sum over thresholds of (recall step) x precision; NaN without positives.
double average_precision(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

}  // namespace satx::eval
