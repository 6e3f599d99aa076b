#pragma once
/// Quality gates: `eval -fail-under metric=floor` for CI pipelines that must not ship a model
/// worse than a floor.

#include <string>
#include <vector>

#include "satx/eval/metrics.hpp"

namespace satx::eval {

/// One floor.
struct QualityGate {
  std::string metric;
  double floor = 0;
};

/// A gate that failed.
struct GateFailure {
  std::string metric;
  double value = 0;  ///< NaN when the metric is undefined on this data (e.g. roc_auc with one class)
  double floor = 0;
  /// "macro_f1 = 0.8123 is below the floor 0.9"
  std::string message() const;
};

/// Metric names a gate accepts, with one line of help each, for --help and docs:
/// accuracy, topk_accuracy, macro_f1/precision/recall, weighted_f1/precision/recall, roc_auc,
/// pr_auc (two classes), and per class f1:<class>, precision:<class>, recall:<class>.
const std::vector<std::pair<std::string, std::string>>& gate_metric_help();

/// Parses "metric=floor"; a Usage error naming `text` for a malformed gate, an unknown metric
/// (with the nearest name) or a floor that is not a number.
QualityGate parse_quality_gate(const std::string& text);

/// The value of `metric` in `report`; a Usage error for a metric the report cannot have
/// (an unknown class, roc_auc on more than two classes, topk_accuracy without -topk).
double metric_value(const Report& report, const std::string& metric);

/// The gates `report` fails (value < floor, or undefined), in the order given.
std::vector<GateFailure> check_gates(const Report& report, const std::vector<QualityGate>& gates);

}  // namespace satx::eval
