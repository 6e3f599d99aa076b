#pragma once
/// Scoring a labelled dataset with a model: the data side of `satx eval`.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/core/context.hpp"
#include "satx/data/dataset.hpp"
#include "satx/data/loader.hpp"
#include "satx/eval/metrics.hpp"
#include "satx/infer/engine.hpp"
#include "satx/infer/scorer.hpp"

namespace satx::eval {

/// How to evaluate.
struct EvalOptions {
  /// Top-k accuracy: -1 = 5 when the model has more than 5 classes, else off; 0 = off.
  int topk = -1;
  /// Binary models: the decision threshold; unset = the model's stored one (argmax without).
  std::optional<double> threshold;
  infer::ScorerOptions scorer;
  /// When set, every scored tile is written there as CSV (written atomically at the end):
  /// `path,true_label,predicted_label,score,<p(class)...>`, probabilities with 9 significant digits.
  std::string predictions;
  /// Keep this many correctly labelled tiles with the lowest score in EvalResult::least_confident
  /// (the HTML report's gallery); memory stays bounded by the count, not the data.
  size_t least_confident = 0;
};

/// One scored tile: where it is, its true and predicted class and their probabilities.
struct ScoredTile {
  std::string path;
  int64_t truth = 0;
  int64_t predicted = 0;
  float score = 0;        ///< probability of the predicted class
  float truth_score = 0;  ///< probability of the true class
};

/// A tile the model got wrong.
using Misclassified = ScoredTile;

/// Progress: tiles handled so far of the total.
using EvalProgress = std::function<void(int64_t done, int64_t total)>;

/// What an evaluation produced.
struct EvalResult {
  Report report;
  std::vector<Misclassified> misclassified;  ///< in dataset order
  std::vector<ScoredTile> least_confident;   ///< correct tiles, lowest score first (EvalOptions::least_confident)
  std::vector<data::BadFile> failed;         ///< tiles left out because they could not be read
  std::vector<float> positive_scores;        ///< binary models: p(class 1) per scored tile
  std::vector<uint8_t> positive_labels;      ///< binary models: 1 when the tile is of class 1
  double seconds = 0;
};

/// The top-k EvalOptions::topk asks for with `classes` classes.
int resolve_topk(int topk, size_t classes);

/// The header of EvalOptions::predictions for `classes`, with its newline.
std::string predictions_csv_header(const std::vector<std::string>& classes);

/// What `satx eval -json` writes, and a training run's test-metrics.json: the report
/// (report_to_json) with the model and data paths, TTA, input sizes, unreadable tiles and seconds.
nlohmann::json result_to_json(const EvalResult& result, const infer::InferenceEngine& engine, const std::string& model,
                              const std::string& data);

/// Scores every sample of `dataset` (labels already in the model's class order, see
/// data::relabel) and accumulates the metrics. Unreadable tiles are left out and listed
/// (BadData with options.scorer.strict).
EvalResult evaluate(infer::InferenceEngine& engine, const data::Dataset& dataset, const EvalOptions& options,
                    const Context& context, const EvalProgress& on_progress = {});

}  // namespace satx::eval
