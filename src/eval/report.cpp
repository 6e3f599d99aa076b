#include "satx/eval/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "satx/io/prediction_format.hpp"

namespace satx::eval {

namespace {

std::string fixed(double value, int decimals = 4) {
  if (std::isnan(value)) return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string pad_right(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string pad_left(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

nlohmann::json number(double value) { return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value); }

std::string csv_number(double value) {
  if (std::isnan(value)) return "";
  char text[64];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

void matrix(std::ostringstream& out, const Report& report, bool normalized) {
  const size_t n = report.classes.size();
  size_t name_width = 4;
  for (const auto& name : report.classes) name_width = std::max(name_width, name.size() + 5);
  const auto rows = report.confusion_normalized();
  size_t cell = 6;
  if (!normalized)
    for (const auto& row : report.confusion)
      for (int64_t count : row) cell = std::max(cell, std::to_string(count).size() + 1);
  out << pad_right("", name_width);
  for (size_t j = 0; j < n; ++j) out << pad_left("[" + std::to_string(j) + "]", cell);
  out << "\n";
  for (size_t i = 0; i < n; ++i) {
    out << pad_right("[" + std::to_string(i) + "] " + report.classes[i], name_width);
    for (size_t j = 0; j < n; ++j)
      out << pad_left(normalized ? fixed(100.0 * rows[i][j], 1) : std::to_string(report.confusion[i][j]), cell);
    out << "\n";
  }
}

}  // namespace

std::string format_report(const Report& report) {
  std::ostringstream out;
  out << "tiles           " << report.samples << "\n";
  out << "accuracy        " << fixed(report.accuracy) << "\n";
  if (report.topk > 0) out << pad_right("top" + std::to_string(report.topk) + "_accuracy", 16) << fixed(report.topk_accuracy) << "\n";
  out << "macro_f1        " << fixed(report.macro.f1) << "\n";
  out << "weighted_f1     " << fixed(report.weighted.f1) << "\n";
  out << "log_loss        " << fixed(report.log_loss) << "\n";
  if (report.binary) {
    out << "roc_auc         " << fixed(report.binary->roc_auc) << "\n";
    out << "pr_auc          " << fixed(report.binary->pr_auc) << "   (positive class: " << report.binary->positive_class << ")\n";
  }
  if (report.threshold) out << "threshold       " << fixed(*report.threshold) << "   (decision threshold on p(" << report.classes[1] << "))\n";

  size_t name_width = 12;
  for (const auto& m : report.per_class) name_width = std::max(name_width, m.name.size() + 2);
  out << "\n" << pad_right("class", name_width) << " precision    recall        f1   support\n";
  for (const auto& m : report.per_class)
    out << pad_right(m.name, name_width) << pad_left(fixed(m.precision), 10) << pad_left(fixed(m.recall), 10)
        << pad_left(fixed(m.f1), 10) << pad_left(std::to_string(m.support), 10) << "\n";
  out << pad_right("macro avg", name_width) << pad_left(fixed(report.macro.precision), 10) << pad_left(fixed(report.macro.recall), 10)
      << pad_left(fixed(report.macro.f1), 10) << pad_left(std::to_string(report.samples), 10) << "\n";
  out << pad_right("weighted avg", name_width) << pad_left(fixed(report.weighted.precision), 10)
      << pad_left(fixed(report.weighted.recall), 10) << pad_left(fixed(report.weighted.f1), 10)
      << pad_left(std::to_string(report.samples), 10) << "\n";

  out << "\nconfusion matrix (rows: true class, columns: predicted)\n";
  matrix(out, report, false);
  out << "\nconfusion matrix, % of each true class\n";
  matrix(out, report, true);

  if (report.binary) {
    out << "\nthreshold on p(" << report.binary->positive_class << ")   precision    recall       fpr        f1       tp       fp       fn       tn\n";
    for (const auto& p : report.binary->table)
      out << pad_right(fixed(p.threshold, 2), 22) << pad_left(fixed(p.precision), 10) << pad_left(fixed(p.recall), 10)
          << pad_left(fixed(p.fpr), 10) << pad_left(fixed(p.f1), 10) << pad_left(std::to_string(p.tp), 9)
          << pad_left(std::to_string(p.fp), 9) << pad_left(std::to_string(p.fn), 9) << pad_left(std::to_string(p.tn), 9) << "\n";
  }
  return out.str();
}

nlohmann::json report_to_json(const Report& report) {
  nlohmann::json j;
  j["classes"] = report.classes;
  j["samples"] = report.samples;
  j["accuracy"] = number(report.accuracy);
  if (report.topk > 0) {
    j["topk"] = report.topk;
    j["topk_accuracy"] = number(report.topk_accuracy);
  }
  j["log_loss"] = number(report.log_loss);
  j["macro"] = {{"precision", number(report.macro.precision)}, {"recall", number(report.macro.recall)}, {"f1", number(report.macro.f1)}};
  j["weighted"] = {{"precision", number(report.weighted.precision)},
                   {"recall", number(report.weighted.recall)},
                   {"f1", number(report.weighted.f1)}};
  j["per_class"] = nlohmann::json::array();
  for (const auto& m : report.per_class)
    j["per_class"].push_back({{"class", m.name},
                              {"precision", number(m.precision)},
                              {"recall", number(m.recall)},
                              {"f1", number(m.f1)},
                              {"support", m.support},
                              {"predicted", m.predicted}});
  j["confusion"] = report.confusion;
  j["confusion_normalized"] = report.confusion_normalized();
  j["threshold"] = report.threshold ? nlohmann::json(*report.threshold) : nlohmann::json(nullptr);
  if (report.binary) {
    nlohmann::json b;
    b["positive_class"] = report.binary->positive_class;
    b["roc_auc"] = number(report.binary->roc_auc);
    b["pr_auc"] = number(report.binary->pr_auc);
    b["thresholds"] = nlohmann::json::array();
    for (const auto& p : report.binary->table)
      b["thresholds"].push_back({{"threshold", p.threshold},
                                 {"precision", number(p.precision)},
                                 {"recall", number(p.recall)},
                                 {"fpr", number(p.fpr)},
                                 {"f1", number(p.f1)},
                                 {"tp", p.tp},
                                 {"fp", p.fp},
                                 {"fn", p.fn},
                                 {"tn", p.tn}});
    j["binary"] = std::move(b);
  }
  return j;
}

std::string report_to_csv(const Report& report) {
  std::ostringstream out;
  auto row = [&](const std::string& metric, const std::string& cls, const std::string& predicted, const std::string& value) {
    out << io::csv_field(metric) << ',' << io::csv_field(cls) << ',' << io::csv_field(predicted) << ',' << value << '\n';
  };
  out << "metric,class,predicted,value\n";
  row("samples", "", "", std::to_string(report.samples));
  row("accuracy", "", "", csv_number(report.accuracy));
  if (report.topk > 0) {
    // The same names as the JSON report and -fail-under, so one metric name works everywhere.
    row("topk", "", "", std::to_string(report.topk));
    row("topk_accuracy", "", "", csv_number(report.topk_accuracy));
  }
  row("log_loss", "", "", csv_number(report.log_loss));
  row("macro_precision", "", "", csv_number(report.macro.precision));
  row("macro_recall", "", "", csv_number(report.macro.recall));
  row("macro_f1", "", "", csv_number(report.macro.f1));
  row("weighted_precision", "", "", csv_number(report.weighted.precision));
  row("weighted_recall", "", "", csv_number(report.weighted.recall));
  row("weighted_f1", "", "", csv_number(report.weighted.f1));
  if (report.threshold) row("threshold", "", "", csv_number(*report.threshold));
  if (report.binary) {
    row("roc_auc", "", "", csv_number(report.binary->roc_auc));
    row("pr_auc", "", "", csv_number(report.binary->pr_auc));
  }
  for (const auto& m : report.per_class) {
    row("precision", m.name, "", csv_number(m.precision));
    row("recall", m.name, "", csv_number(m.recall));
    row("f1", m.name, "", csv_number(m.f1));
    row("support", m.name, "", std::to_string(m.support));
  }
  for (size_t i = 0; i < report.confusion.size(); ++i)
    for (size_t j = 0; j < report.confusion[i].size(); ++j)
      row("confusion", report.classes[i], report.classes[j], std::to_string(report.confusion[i][j]));
  return out.str();
}

std::string misclassified_csv(const std::vector<Misclassified>& rows, const std::vector<std::string>& classes) {
  std::ostringstream out;
  out << "path,true_label,predicted_label,score,true_score\n";
  char scores[64];
  for (const auto& r : rows) {
    std::snprintf(scores, sizeof scores, "%.6g,%.6g", r.score, r.truth_score);
    out << io::csv_field(r.path) << ',' << io::csv_field(classes.at(static_cast<size_t>(r.truth))) << ','
        << io::csv_field(classes.at(static_cast<size_t>(r.predicted))) << ',' << scores << '\n';
  }
  return out.str();
}

}  // namespace satx::eval
