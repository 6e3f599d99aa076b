#include "satx/eval/evaluator.hpp"
#include "satx/core/strings.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/eval/report.hpp"
#include "satx/infer/scorer.hpp"
#include "satx/io/prediction_format.hpp"

namespace satx::eval {

namespace {

// Nine significant digits give back the exact float.
std::string number(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(value));
  return text;
}

// A bounded max-heap on score: the kept tiles are the `limit` lowest seen so far; a tile that
// does not enter a full heap costs one comparison and no copy of its path.
void keep_least_confident(std::vector<ScoredTile>& heap, size_t limit, const std::string& path, int64_t truth,
                          int64_t predicted, float score, float true_score) {
  const auto higher = [](const ScoredTile& a, const ScoredTile& b) { return a.score < b.score; };
  if (heap.size() == limit && !(score < heap.front().score)) return;
  if (heap.size() == limit) {
    std::pop_heap(heap.begin(), heap.end(), higher);
    heap.pop_back();
  }
  heap.push_back({path, truth, predicted, score, true_score});
  std::push_heap(heap.begin(), heap.end(), higher);
}

}  // namespace

std::string predictions_csv_header(const std::vector<std::string>& classes) {
  std::string header = "path,true_label,predicted_label,score";
  for (const auto& name : classes) header += "," + io::csv_field(name);
  return header + "\n";
}

nlohmann::json result_to_json(const EvalResult& result, const infer::InferenceEngine& engine, const std::string& model,
                              const std::string& data) {
  nlohmann::json j = report_to_json(result.report);
  j["model"] = model;
  j["data"] = data;
  j["tta"] = engine.options().tta;
  j["tta_sizes"] = engine.input_sizes();
  j["unreadable"] = result.failed.size();
  j["seconds"] = result.seconds;
  return j;
}

int resolve_topk(int topk, size_t classes) {
  if (topk < 0) return classes > 5 ? 5 : 0;
  return topk;
}

EvalResult evaluate(infer::InferenceEngine& engine, const data::Dataset& dataset, const EvalOptions& options,
                    const Context& context, const EvalProgress& on_progress) {
  const auto& metadata = engine.metadata();
  if (dataset.classes != metadata.classes)
    throw_usage("evaluate: the dataset's classes are not in the model's order; relabel it first (data::relabel)");
  infer::check_scorer_options(options.scorer);  // before the predictions file is started
  const std::optional<double> threshold = infer::resolve_threshold(metadata, options.threshold);
  if (options.topk < -1)
    throw_option("topk", "must be >= 0 (or -1 for 5 when the model has more than 5 classes), got " +
                std::to_string(options.topk));

  std::vector<std::string> paths;
  std::vector<int64_t> labels;
  paths.reserve(dataset.samples.size());
  labels.reserve(dataset.samples.size());
  for (const auto& sample : dataset.samples) {
    paths.push_back(sample.path);
    labels.push_back(sample.label);
  }

  std::unique_ptr<AtomicFile> predictions;
  if (!options.predictions.empty()) {
    predictions = std::make_unique<AtomicFile>(options.predictions);
    predictions->write(predictions_csv_header(metadata.classes));
  }
  std::vector<ScoredTile> unsure;
  MetricsAccumulator metrics(metadata.classes, resolve_topk(options.topk, metadata.classes.size()), threshold);
  EvalResult result;
  const auto total = static_cast<int64_t>(paths.size());
  int64_t done = 0;
  const auto start = std::chrono::steady_clock::now();
  infer::score_tiles(engine, paths, labels, options.scorer, context, [&](const infer::ScoredBatch& batch) {
    result.failed.insert(result.failed.end(), batch.failed.begin(), batch.failed.end());
    done += static_cast<int64_t>(batch.failed.size() + batch.indices.size());
    if (!batch.indices.empty()) {
      const torch::Tensor predicted = infer::decide_labels(batch.probabilities, threshold);
      metrics.add(batch.probabilities, batch.labels, predicted);
      const torch::Tensor p = batch.probabilities.contiguous();
      const float* prob = p.data_ptr<float>();
      const int64_t classes = p.size(1);
      const torch::Tensor truth = batch.labels.to(torch::kLong).contiguous();
      const int64_t* t = truth.data_ptr<int64_t>();
      const int64_t* g = predicted.data_ptr<int64_t>();
      for (size_t i = 0; i < batch.indices.size(); ++i) {
        if (predictions) {
          const float* row = prob + static_cast<int64_t>(i) * classes;
          std::string line = io::csv_field(paths[batch.indices[i]]) + "," + io::csv_field(metadata.classes[t[i]]) + "," +
                             io::csv_field(metadata.classes[g[i]]) + "," + number(row[g[i]]);
          for (int64_t c = 0; c < classes; ++c) line += "," + number(row[c]);
          predictions->write(line + "\n");
        }
        const float* row = prob + static_cast<int64_t>(i) * classes;
        if (t[i] == g[i]) {
          if (options.least_confident > 0)
            keep_least_confident(unsure, options.least_confident, paths[batch.indices[i]], t[i], g[i], row[g[i]], row[t[i]]);
          continue;
        }
        result.misclassified.push_back({paths[batch.indices[i]], t[i], g[i], row[g[i]], row[t[i]]});
      }
    }
    if (on_progress) on_progress(done, total);
  });
  // Metrics over zero tiles are no result at all (accuracy 0 with exit 0 once fooled a gate).
  const int64_t scored = total - static_cast<int64_t>(result.failed.size());
  if (total > 0 && scored == 0)
    throw_bad_data("none of the " + std::to_string(total) + " tiles could be read (first: " + result.failed.front().path +
                   ": " + result.failed.front().reason + "); nothing to evaluate");
  if (predictions) predictions->commit();
  result.report = metrics.report();
  result.positive_scores = metrics.positive_scores();
  result.positive_labels = metrics.positive_labels();
  // Lowest score first; ties broken by path, so the gallery does not depend on the heap's layout.
  result.least_confident = std::move(unsure);
  std::sort(result.least_confident.begin(), result.least_confident.end(), [](const ScoredTile& a, const ScoredTile& b) {
    return a.score != b.score ? a.score < b.score : a.path < b.path;
  });
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace satx::eval
