#pragma once
/// Writing an evaluation report: a readable table (stdout), JSON and CSV (machines), and the
/// list of misclassified tiles.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/eval/evaluator.hpp"
#include "satx/eval/metrics.hpp"

namespace satx::eval {

/// The report as aligned text: summary metrics, the per-class table with macro and weighted
/// averages, the confusion matrix in counts and row-normalized percent, and for two classes
/// ROC-AUC, PR-AUC and the threshold table.
std::string format_report(const Report& report);

/// The report as JSON (docs/eval.md lists the keys; undefined values are null).
nlohmann::json report_to_json(const Report& report);

/// The report as a long CSV, one value per row: `metric,class,predicted,value`
/// (class empty for overall metrics; predicted set only for confusion cells).
std::string report_to_csv(const Report& report);

/// `path,true_label,predicted_label,score,true_score` rows, with a header.
std::string misclassified_csv(const std::vector<Misclassified>& rows, const std::vector<std::string>& classes);

}  // namespace satx::eval
