#pragma once
// The sections of the HTML report, each a function from the page's data to an HTML fragment
// (<section id="...">...</section>); html_report.cpp puts them together.

#include <string>

#include "satx/eval/html_report.hpp"

namespace satx::eval::detail {

/// What every section reads: the input with its optional parts resolved once.
struct PageData {
  const HtmlReportInput& input;
  const HtmlReportOptions& options;
  const RunRecord* run = nullptr;                ///< null without a run folder
  const models::ModelMetadata* model = nullptr;  ///< null without a model
  const ReportEvaluation* evaluation = nullptr;  ///< null without scored tiles
  /// The classes of the model (or of the evaluation when there is no model).
  const std::vector<std::string>& classes() const;
};

/// Loss, accuracy, macro F1 and learning rate per epoch from metrics.jsonl, phases shaded.
std::string curves_section(const PageData& page);
/// The confusion matrix as a heat map: counts, row shares as colour, recall per row.
std::string confusion_section(const PageData& page);
/// Precision, recall, F1, support and predicted per class, with macro and weighted averages.
std::string per_class_section(const PageData& page);
/// Two classes: ROC and precision-recall curves with the operating threshold, and the threshold table.
std::string binary_section(const PageData& page);
/// The most confident errors and the least confident correct tiles, as thumbnails.
std::string gallery_section(const PageData& page);
/// Data per class and split, recipe, versions, hardware, wall time.
std::string model_card_section(const PageData& page);
/// A tuning folder's leaderboard: the top rows, the best highlighted.
std::string leaderboard_section(const PageData& page);

/// `<section id="id"><h2>heading</h2>body</section>`.
std::string section(const std::string& id, const std::string& heading, const std::string& body);
/// A paragraph saying why a section is empty.
std::string note(const std::string& text);

}  // namespace satx::eval::detail
