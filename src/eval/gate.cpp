#include "satx/eval/gate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "satx/core/error.hpp"

namespace satx::eval {

namespace {

const char* const kPerClass[] = {"f1:", "precision:", "recall:"};

std::vector<std::string> plain_names() {
  std::vector<std::string> names;
  for (const auto& [name, help] : gate_metric_help())
    if (name.find(':') == std::string::npos) names.push_back(name);
  return names;
}

}  // namespace

std::string GateFailure::message() const {
  char text[256];
  if (std::isnan(value))
    std::snprintf(text, sizeof text, "%s is undefined on this data (floor %g)", metric.c_str(), floor);
  else
    std::snprintf(text, sizeof text, "%s = %.4f is below the floor %g", metric.c_str(), value, floor);
  return text;
}

const std::vector<std::pair<std::string, std::string>>& gate_metric_help() {
  static const std::vector<std::pair<std::string, std::string>> help = {
      {"accuracy", "fraction of tiles whose predicted label is right"},
      {"topk_accuracy", "fraction with the true label among the -topk most probable"},
      {"macro_f1", "F1 averaged over classes, each class counting the same"},
      {"macro_precision", "precision averaged over classes"},
      {"macro_recall", "recall averaged over classes (balanced accuracy)"},
      {"weighted_f1", "F1 averaged over classes weighted by their support"},
      {"weighted_precision", "precision weighted by support"},
      {"weighted_recall", "recall weighted by support (equals accuracy)"},
      {"roc_auc", "two-class models: area under the ROC curve"},
      {"pr_auc", "two-class models: average precision of the positive class"},
      {"f1:<class>", "F1 of one class, e.g. f1:Forest"},
      {"precision:<class>", "precision of one class"},
      {"recall:<class>", "recall of one class"},
  };
  return help;
}

QualityGate parse_quality_gate(const std::string& text) {
  const size_t equals = text.rfind('=');
  if (equals == std::string::npos || equals == 0)
    throw_usage("invalid -fail-under '" + text + "': expected metric=floor, e.g. -fail-under accuracy=0.95");
  QualityGate gate;
  gate.metric = text.substr(0, equals);
  const std::string number = text.substr(equals + 1);
  try {
    size_t used = 0;
    gate.floor = std::stod(number, &used);
    if (used != number.size() || !std::isfinite(gate.floor)) throw std::invalid_argument(number);
  } catch (const std::exception&) {
    throw_usage("invalid -fail-under '" + text + "': the floor '" + number + "' is not a number");
  }
  // Every gated metric is a fraction; a floor above 1 could never pass, one below 0 never fail.
  if (gate.floor < 0 || gate.floor > 1)
    throw_usage("invalid -fail-under '" + text + "': the floor " + number + " is outside [0, 1] (metrics are fractions: " +
                "accuracy=0.95, not 95)");
  bool per_class = false;
  for (const char* prefix : kPerClass)
    if (gate.metric.rfind(prefix, 0) == 0 && gate.metric.size() > std::string(prefix).size()) per_class = true;
  if (!per_class) {
    const auto names = plain_names();
    if (std::find(names.begin(), names.end(), gate.metric) == names.end())
      throw_usage(unknown_value_message("-fail-under metric", gate.metric, names) +
                  ", or f1:<class>, precision:<class>, recall:<class>");
  }
  return gate;
}

double metric_value(const Report& report, const std::string& metric) {
  for (const char* prefix : kPerClass) {
    const std::string p(prefix);
    if (metric.rfind(p, 0) != 0) continue;
    const std::string name = metric.substr(p.size());
    for (const auto& m : report.per_class) {
      if (m.name != name) continue;
      return p == "f1:" ? m.f1 : p == "precision:" ? m.precision : m.recall;
    }
    throw_usage(unknown_value_message("class in -fail-under " + metric, name, report.classes));
  }
  if (metric == "accuracy") return report.accuracy;
  if (metric == "topk_accuracy") {
    if (report.topk == 0) throw_usage("-fail-under topk_accuracy needs -topk=K (K >= 1)");
    return report.topk_accuracy;
  }
  if (metric == "macro_f1") return report.macro.f1;
  if (metric == "macro_precision") return report.macro.precision;
  if (metric == "macro_recall") return report.macro.recall;
  if (metric == "weighted_f1") return report.weighted.f1;
  if (metric == "weighted_precision") return report.weighted.precision;
  if (metric == "weighted_recall") return report.weighted.recall;
  if (metric == "roc_auc" || metric == "pr_auc") {
    if (!report.binary)
      throw_usage("-fail-under " + metric + " applies to two-class models; this one has " +
                  std::to_string(report.classes.size()) + " classes");
    return metric == "roc_auc" ? report.binary->roc_auc : report.binary->pr_auc;
  }
  throw_usage(unknown_value_message("-fail-under metric", metric, plain_names()));
}

std::vector<GateFailure> check_gates(const Report& report, const std::vector<QualityGate>& gates) {
  std::vector<GateFailure> failures;
  for (const auto& gate : gates) {
    const double value = metric_value(report, gate.metric);
    if (std::isnan(value) || value < gate.floor) failures.push_back({gate.metric, value, gate.floor});
  }
  return failures;
}

}  // namespace satx::eval
