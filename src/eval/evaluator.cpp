#include "satx/eval/evaluator.hpp"

#include <chrono>

#include "satx/core/error.hpp"

namespace satx::eval {

int resolve_topk(int topk, size_t classes) {
  if (topk < 0) return classes > 5 ? 5 : 0;
  return topk;
}

EvalResult evaluate(infer::InferenceEngine& engine, const data::Dataset& dataset, const EvalOptions& options,
                    const Context& context, const EvalProgress& on_progress) {
  const auto& metadata = engine.metadata();
  if (dataset.classes != metadata.classes)
    throw_usage("evaluate: the dataset's classes are not in the model's order; relabel it first (data::relabel)");
  const std::optional<double> threshold =
      metadata.classes.size() == 2 ? (options.threshold ? options.threshold : metadata.threshold) : std::nullopt;
  if (options.threshold && !(*options.threshold >= 0.0 && *options.threshold <= 1.0))
    throw_usage("-threshold must be a probability in [0, 1], got " + std::to_string(*options.threshold));
  if (options.topk < -1)
    throw_usage("-topk must be >= 0 (or -1 for 5 when the model has more than 5 classes), got " +
                std::to_string(options.topk));
  if (options.threshold && metadata.classes.size() != 2)
    throw_usage("-threshold applies to binary models; this model has " + std::to_string(metadata.classes.size()) + " classes");

  std::vector<std::string> paths;
  std::vector<int64_t> labels;
  paths.reserve(dataset.samples.size());
  labels.reserve(dataset.samples.size());
  for (const auto& sample : dataset.samples) {
    paths.push_back(sample.path);
    labels.push_back(sample.label);
  }

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
        if (t[i] == g[i]) continue;
        const float* row = prob + static_cast<int64_t>(i) * classes;
        result.misclassified.push_back({paths[batch.indices[i]], t[i], g[i], row[g[i]], row[t[i]]});
      }
    }
    if (on_progress) on_progress(done, total);
  });
  result.report = metrics.report();
  result.positive_scores = metrics.positive_scores();
  result.positive_labels = metrics.positive_labels();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace satx::eval
