// The report's plotted and pictured sections: training curves, two-class curves, the gallery.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "eval/detail/html.hpp"
#include "eval/detail/report_sections.hpp"
#include "eval/detail/svg_plot.hpp"
#include "satx/eval/threshold.hpp"

namespace satx::eval::detail {

namespace {

constexpr const char* kTrainColour = "#1f77b4";
constexpr const char* kValidColour = "#ff7f0e";
constexpr const char* kBestColour = "#2ca02c";

// The global epoch of best.safetensors, as its metadata records it; 0 when unknown.
int best_epoch(const PageData& page) {
  if (page.model) {
    const auto it = page.model->training.find("epoch");
    if (it != page.model->training.end() && it->is_object() && it->contains("global_epoch") &&
        (*it)["global_epoch"].is_number())
      return (*it)["global_epoch"].get<int>();
  }
  return 0;
}

Plot epoch_plot(const PageData& page, const std::string& title, const std::string& y_label) {
  const auto& epochs = page.run->epochs;
  Plot plot;
  plot.title = title;
  plot.x_label = "epoch";
  plot.y_label = y_label;
  plot.integer_x = true;
  plot.x_min = epochs.front().global_epoch - 0.5;
  plot.x_max = epochs.back().global_epoch + 0.5;
  for (size_t i = 0; i < epochs.size();) {
    size_t j = i;
    while (j + 1 < epochs.size() && epochs[j + 1].phase == epochs[i].phase) ++j;
    plot.bands.push_back({epochs[i].global_epoch - 0.5, epochs[j].global_epoch + 0.5, "phase: " + epochs[i].phase});
    i = j + 1;
  }
  for (const auto& e : epochs)
    if (!e.collapse.empty()) plot.rules.push_back({static_cast<double>(e.global_epoch), "collapse, rolled back: " + e.collapse});
  if (const int best = best_epoch(page); best > 0)
    plot.rules.push_back({static_cast<double>(best), "best.safetensors (epoch " + std::to_string(best) + ")", kBestColour});
  return plot;
}

PlotSeries epoch_series(const std::vector<EpochRecord>& epochs, const std::string& name, const char* colour,
                        double EpochRecord::*field, bool dashed = false) {
  PlotSeries series;
  series.name = name;
  series.colour = colour;
  series.dashed = dashed;
  for (const auto& e : epochs) {
    series.x.push_back(e.global_epoch);
    series.y.push_back(e.*field);
  }
  return series;
}

// The configured peak rate of each epoch's phase (-head-lr, -lr), dashed: a schedule that ends at
// zero leaves the end-of-epoch rate alone uninformative for short phases.
PlotSeries peak_rates(const PageData& page) {
  PlotSeries series;
  series.name = "peak (config.json)";
  series.colour = "#9467bd";
  series.dashed = true;
  const nlohmann::json& options = page.run->config.is_object() && page.run->config.contains("options")
                                      ? page.run->config["options"]
                                      : nlohmann::json::object();
  const auto rate = [&](const char* key) {
    const auto it = options.find(key);
    return it != options.end() && it->is_number() ? it->get<double>() : std::nan("");
  };
  bool any = false;
  for (const auto& e : page.run->epochs) {
    const double peak = e.phase == "head" ? rate("head_lr") : e.phase == "full" ? rate("lr") : std::nan("");
    any = any || std::isfinite(peak);
    series.x.push_back(e.global_epoch);
    series.y.push_back(peak);
  }
  if (!any) series.x.clear();
  return series;
}

bool any_finite(const std::vector<EpochRecord>& epochs, double EpochRecord::*field) {
  return std::any_of(epochs.begin(), epochs.end(), [&](const EpochRecord& e) { return std::isfinite(e.*field); });
}

std::string epochs_table(const std::vector<EpochRecord>& epochs) {
  std::string html = "<details><summary>Every epoch as a table</summary><table class=\"metrics\"><thead><tr><th>epoch</th>"
                     "<th>phase</th><th>lr</th><th>train loss</th><th>train acc</th><th>val loss</th><th>val acc</th>"
                     "<th>val macro F1</th><th>seconds</th><th>improved</th></tr></thead><tbody>";
  for (const auto& e : epochs)
    html += "<tr><td class=\"num\">" + std::to_string(e.global_epoch) + "</td><td>" + escape(e.phase) + " " +
            std::to_string(e.epoch) + "/" + std::to_string(e.epochs) + "</td><td class=\"num\">" + short_number(e.lr) +
            "</td><td class=\"num\">" + fixed(e.train_loss) + "</td><td class=\"num\">" + fixed(e.train_accuracy) +
            "</td><td class=\"num\">" + fixed(e.val_loss) + "</td><td class=\"num\">" + fixed(e.val_accuracy) +
            "</td><td class=\"num\">" + fixed(e.val_macro_f1) + "</td><td class=\"num\">" + fixed(e.seconds, 1) +
            "</td><td>" + (e.improved ? "yes" : "") + (e.collapse.empty() ? "" : " collapse: " + escape(e.collapse)) +
            "</td></tr>";
  return html + "</tbody></table></details>\n";
}

// The curve thinned to `limit` points, always keeping its ends.
template <typename Point>
std::vector<Point> thinned(const std::vector<Point>& points, size_t limit) {
  std::vector<Point> kept;
  for (size_t i : thin_indices(points.size(), limit)) kept.push_back(points[i]);
  return kept;
}

std::string figure(const ScoredTile& tile, const std::vector<std::string>& classes, const HtmlReportOptions& options) {
  const Thumbnail thumbnail = make_thumbnail(tile.path, options.thumbnail, options.jpeg_quality);
  const std::string name = std::filesystem::path(tile.path).filename().string();
  const std::string truth = classes.at(static_cast<size_t>(tile.truth));
  const std::string predicted = classes.at(static_cast<size_t>(tile.predicted));
  std::string html = "<figure>";
  if (thumbnail.uri.empty())
    html += "<div class=\"missing\" title=\"" + escape(thumbnail.error) + "\">cannot read the tile: " +
            escape(thumbnail.error.substr(0, 80)) + "</div>";
  else
    html += "<img src=\"" + thumbnail.uri + "\" alt=\"" + escape(name) + "\">";
  html += "<figcaption>true: <b>" + escape(truth) + "</b><br>predicted: <span class=\"" +
          (tile.truth == tile.predicted ? "right" : "wrong") + "\">" + escape(predicted) + "</span><br>score " +
          fixed(tile.score, 3);
  if (tile.truth != tile.predicted) html += " (true " + fixed(tile.truth_score, 3) + ")";
  html += "<br><span class=\"file\" title=\"" + escape(tile.path) + "\">" + escape(name) + "</span></figcaption></figure>";
  return html;
}

}  // namespace

std::string curves_section(const PageData& page) {
  const char* heading = "Training curves";
  if (!page.run || page.run->epochs.empty())
    return section("curves", heading, note("No training epochs to plot: the report has no run folder with a metrics.jsonl."));
  const auto& epochs = page.run->epochs;
  std::string charts;
  Plot loss = epoch_plot(page, "Loss", "loss");
  loss.series = {epoch_series(epochs, "train", kTrainColour, &EpochRecord::train_loss),
                 epoch_series(epochs, "validation", kValidColour, &EpochRecord::val_loss)};
  Plot accuracy = epoch_plot(page, "Accuracy", "accuracy");
  accuracy.series = {epoch_series(epochs, "train", kTrainColour, &EpochRecord::train_accuracy),
                     epoch_series(epochs, "validation", kValidColour, &EpochRecord::val_accuracy)};
  Plot f1 = epoch_plot(page, "Validation macro F1", "macro F1");
  f1.series = {epoch_series(epochs, "validation macro F1", kValidColour, &EpochRecord::val_macro_f1)};
  if (any_finite(epochs, &EpochRecord::val_ap))
    f1.series.push_back(epoch_series(epochs, "validation AP", "#9467bd", &EpochRecord::val_ap, true));
  accuracy.y_max = f1.y_max = 1.0;
  Plot lr = epoch_plot(page, "Learning rate", "learning rate");
  lr.y_min = 0;
  lr.series = {epoch_series(epochs, "end of epoch", "#7f7f7f", &EpochRecord::lr), peak_rates(page)};
  if (lr.series.back().x.empty()) lr.series.pop_back();
  for (const Plot* plot : {&loss, &accuracy, &f1, &lr}) charts += render_svg(*plot);
  std::string caption = "<p class=\"caption\">Per epoch of metrics.jsonl (" + std::to_string(epochs.size()) +
                        " epochs). Shaded bands are the training phases (head: a new head on the frozen backbone; "
                        "full: the whole network). The green rule marks the epoch saved as best.safetensors";
  const bool collapsed = std::any_of(epochs.begin(), epochs.end(), [](const EpochRecord& e) { return !e.collapse.empty(); });
  caption += collapsed ? "; red rules mark epochs the collapse guard rolled back.</p>" : ".</p>";
  return section("curves", heading, caption + "<div class=\"charts\">" + charts + "</div>\n" + epochs_table(epochs));
}

std::string binary_section(const PageData& page) {
  const char* heading = "ROC and precision-recall";
  if (!page.evaluation || !page.evaluation->report.binary)
    return section("binary", heading, note("No scored tiles: pass -data=FOLDER, or train with -test."));
  const ReportEvaluation& ev = *page.evaluation;
  const BinaryMetrics& binary = *ev.report.binary;
  const std::vector<ThresholdPoint> curve = threshold_curve(ev.positive_scores, ev.positive_labels);
  const bool stored = ev.report.threshold.has_value();
  const double threshold = stored ? *ev.report.threshold : 0.5;
  const ThresholdPoint operating = evaluate_threshold(ev.positive_scores, ev.positive_labels, threshold);
  const std::string label = "T = " + short_number(threshold) + (stored ? "" : " (argmax)");

  Plot roc;
  roc.title = "ROC, AUC " + fixed(binary.roc_auc, 4);
  roc.x_label = "false positive rate";
  roc.y_label = "true positive rate (recall)";
  roc.width = roc.height = 380;
  roc.x_min = roc.y_min = 0;
  roc.x_max = roc.y_max = 1;
  roc.diagonal = true;
  PlotSeries roc_line;
  roc_line.name = "ROC";
  roc_line.colour = kTrainColour;
  roc_line.markers = false;
  roc_line.x.push_back(0);
  roc_line.y.push_back(0);
  Plot pr = roc;
  pr.title = "Precision-recall, AP " + fixed(binary.pr_auc, 4);
  pr.x_label = "recall";
  pr.y_label = "precision";
  pr.diagonal = false;
  PlotSeries pr_line = roc_line;
  pr_line.name = "precision-recall";
  pr_line.x.clear();
  pr_line.y.clear();
  const std::vector<ThresholdPoint> drawn = thinned(curve, page.options.curve_points);
  if (!drawn.empty()) {
    pr_line.x.push_back(0);  // the curve starts at recall 0 with the precision of the top score
    pr_line.y.push_back(drawn.front().precision);
  }
  for (const auto& p : drawn) {
    roc_line.x.push_back(p.fpr);
    roc_line.y.push_back(p.recall);
    pr_line.x.push_back(p.recall);
    pr_line.y.push_back(p.precision);
  }
  roc.series = {roc_line};
  roc.points = {{operating.fpr, operating.recall, label}};
  pr.series = {pr_line};
  pr.points = {{operating.recall, operating.precision, label}};

  std::string html = "<p class=\"caption\">Positive class: <b>" + escape(binary.positive_class) +
                     "</b> (a tile is positive when p(" + escape(binary.positive_class) + ") &ge; T). The red ring is the " +
                     (stored ? std::string("operating threshold T = ") + short_number(threshold) +
                                   " (stored in the model, or given with -threshold)"
                             : std::string("argmax decision (T = 0.5): the model stores no threshold")) +
                     ": precision " + fixed(operating.precision) + ", recall " + fixed(operating.recall) + ", FPR " +
                     fixed(operating.fpr) + ".</p>\n<div class=\"charts\">" + render_svg(roc) + render_svg(pr) + "</div>\n";

  std::vector<ThresholdPoint> table = binary.table;
  const bool on_grid = std::any_of(table.begin(), table.end(), [&](const ThresholdPoint& p) { return std::fabs(p.threshold - threshold) < 1e-9; });
  if (!on_grid) table.push_back(operating);
  std::sort(table.begin(), table.end(), [](const ThresholdPoint& a, const ThresholdPoint& b) { return a.threshold < b.threshold; });
  html += "<h3>Threshold table</h3><table class=\"metrics\"><thead><tr><th>threshold</th><th>precision</th><th>recall</th>"
          "<th>FPR</th><th>F1</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th></tr></thead><tbody>";
  for (const auto& p : table) {
    const bool is_operating = std::fabs(p.threshold - threshold) < 1e-9;
    html += std::string(is_operating ? "<tr class=\"operating\" title=\"operating threshold\">" : "<tr>") +
            "<td class=\"num\">" + fixed(p.threshold, is_operating && !on_grid ? 4 : 2) + "</td><td class=\"num\">" +
            fixed(p.precision) + "</td><td class=\"num\">" + fixed(p.recall) + "</td><td class=\"num\">" + fixed(p.fpr) +
            "</td><td class=\"num\">" + fixed(p.f1) + "</td><td class=\"num\">" + count(p.tp) + "</td><td class=\"num\">" +
            count(p.fp) + "</td><td class=\"num\">" + count(p.fn) + "</td><td class=\"num\">" + count(p.tn) + "</td></tr>";
  }
  html += "</tbody></table>\n";
  return section("binary", heading, html);
}

std::string gallery_section(const PageData& page) {
  const char* heading = "Gallery";
  if (!page.evaluation) return section("gallery", heading, note("No scored tiles: pass -data=FOLDER, or train with -test."));
  const ReportEvaluation& ev = *page.evaluation;
  const auto& classes = ev.report.classes;
  int64_t errors = ev.report.samples;
  for (size_t c = 0; c < ev.report.confusion.size(); ++c) errors -= ev.report.confusion[c][c];
  const size_t cap = page.options.gallery;
  std::string html = "<p class=\"caption\">Thumbnails at most " + std::to_string(page.options.thumbnail) +
                     " px; the score is the probability of the predicted class. Hover a file name for its path.</p>";
  html += "<h3 id=\"errors\">Most confident errors (" + std::to_string(std::min(cap, ev.errors.size())) + " of " +
          count(errors) + ")</h3>\n<div class=\"gallery\">";
  for (size_t i = 0; i < ev.errors.size() && i < cap; ++i) html += figure(ev.errors[i], classes, page.options);
  if (ev.errors.empty() || cap == 0) html += note(errors == 0 ? "No errors." : "Gallery off (-gallery=0).");
  html += "</div>\n<h3 id=\"least-confident\">Least confident correct tiles (" +
          std::to_string(std::min(cap, ev.least_confident.size())) + ")</h3>\n<div class=\"gallery\">";
  for (size_t i = 0; i < ev.least_confident.size() && i < cap; ++i) html += figure(ev.least_confident[i], classes, page.options);
  if (ev.least_confident.empty() || cap == 0) html += note(cap == 0 ? "Gallery off (-gallery=0)." : "No correct tiles.");
  return section("gallery", heading, html + "</div>\n");
}

}  // namespace satx::eval::detail
