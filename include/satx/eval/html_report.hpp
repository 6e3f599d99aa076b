#pragma once
/// The HTML report of `satx report` and `satx eval -report`: one self-contained page (inline
/// CSS and SVG, thumbnails as base64 JPEG, no script, nothing fetched) with the training curves,
/// the confusion matrix, per-class metrics, ROC and precision-recall curves for two classes, a
/// gallery of the most confident errors and least confident correct tiles, the model card, and
/// for a tuning folder its leaderboard. docs/eval.md describes each section.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "satx/eval/evaluator.hpp"
#include "satx/eval/metrics.hpp"
#include "satx/eval/run_record.hpp"
#include "satx/models/model_file.hpp"

namespace satx::eval {

/// The evaluation a report shows: the metrics and the tiles behind them.
struct ReportEvaluation {
  Report report;
  std::string data;                         ///< where the tiles came from (a folder or a predictions CSV)
  std::vector<ScoredTile> errors;           ///< wrongly labelled tiles, most confident first
  std::vector<ScoredTile> least_confident;  ///< correctly labelled tiles, least confident first
  std::vector<float> positive_scores;       ///< two classes: p(class 1) per scored tile
  std::vector<uint8_t> positive_labels;     ///< two classes: 1 when the tile is of class 1
  double seconds = 0;                       ///< scoring time; 0 when read from a file
};

/// From eval::evaluate (set EvalOptions::least_confident to the gallery size first); keeps the
/// `keep` most confident errors.
ReportEvaluation report_evaluation(const EvalResult& result, std::string data, size_t keep);

/// From a per-tile CSV as eval -predictions and training's test-predictions.csv write it
/// (`path,true_label,predicted_label,score,<p(class)...>`): the metrics are accumulated from its
/// rows exactly as eval::evaluate does (top-k as EvalOptions' default), and the `keep` most
/// confident errors and least confident correct tiles are kept. BadData naming the file when its
/// class columns differ from `classes` or a row is malformed.
ReportEvaluation read_predictions_csv(const std::filesystem::path& csv, const std::vector<std::string>& classes,
                                      std::optional<double> threshold, size_t keep);

/// How the page is drawn.
struct HtmlReportOptions {
  /// The page heading; empty: "satx report: <run folder or model file name>".
  std::string title;
  /// Tiles in each gallery (the most confident errors; the least confident correct tiles).
  size_t gallery = 24;
  /// Longer side of a thumbnail, px.
  int thumbnail = 64;
  /// JPEG quality of the thumbnails (1-100).
  int jpeg_quality = 80;
  /// Leaderboard rows shown for a tuning folder (best first).
  size_t leaderboard_rows = 50;
  /// Points drawn of a ROC or precision-recall curve (thinned evenly beyond this).
  size_t curve_points = 400;
};

/// What the page is about. Every part is optional; a section without its data says what is missing.
struct HtmlReportInput {
  std::optional<RunRecord> run;                ///< the training run (curves, recipe, leaderboard)
  std::optional<models::ModelMetadata> model;  ///< the model (defaults to the run's best.safetensors)
  std::string model_path;
  std::optional<ReportEvaluation> evaluation;  ///< the scored tiles (confusion, per class, curves, gallery)
};

/// The section ids of a page for `input`, in page order: summary, leaderboard (tuning folders),
/// curves, confusion, per-class, binary (two classes), gallery, model-card.
std::vector<std::string> html_report_sections(const HtmlReportInput& input);

/// The page. Every string from data (class and file names, options) is HTML-escaped; thumbnails
/// are read from the tiles' paths (a tile that cannot be read shows its reason instead).
/// Usage error for options out of range.
std::string render_html_report(const HtmlReportInput& input, const HtmlReportOptions& options = {});

/// render_html_report written atomically to `path`; returns its size in bytes.
uint64_t write_html_report(const std::filesystem::path& path, const HtmlReportInput& input,
                           const HtmlReportOptions& options = {});

}  // namespace satx::eval
