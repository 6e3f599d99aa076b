// The evaluating half of Session: feature caching, validation, the threshold, the model files
// and the test pass. Every score goes through the inference engine; the test pass through
// eval::evaluate itself, so `satx train -test` and `satx eval` agree tile for tile.
#include <chrono>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/core/strings.hpp"
#include "satx/eval/evaluator.hpp"
#include "satx/eval/metrics.hpp"
#include "satx/models/model_file.hpp"
#include "train/detail/collapse.hpp"
#include "train/detail/session.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace satx::train::detail {

Scores Session::score_split(infer::InferenceEngine& engine, data::TileLoader& loader, const std::string& label) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> probabilities, labels;
  loader.start_epoch(0);
  const auto total = static_cast<int64_t>(loader.batches_per_epoch());
  int64_t done = 0;
  while (auto batch = loader.next()) {
    if (batch->labels.numel() > 0) {
      probabilities.push_back(engine.probabilities(batch->images));
      labels.push_back(batch->labels.to(torch::kCPU));
    }
    stage_progress(label, ++done, total, seconds_since(start));
  }
  if (probabilities.empty())
    return {torch::zeros({0, static_cast<int64_t>(plan_.classes.size())}), torch::zeros({0}, torch::kLong)};
  return {torch::cat(probabilities), torch::cat(labels)};
}

void Session::cache_head_features() {
  // The frozen backbone in inference mode maps each tile to the same features every epoch, so
  // one pass replaces head-epochs passes. Under balanced sampling every tile is cached once and
  // the head epochs draw balanced batches from the cache.
  auto cache = [&](data::TileLoader& loader, bool every_tile_once, const std::string& label, torch::Tensor& features,
                   torch::Tensor& labels) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<torch::Tensor> rows, row_labels;
    if (every_tile_once) loader.start_pass();
    else loader.start_epoch(0);
    const auto total = static_cast<int64_t>(loader.batches_per_epoch());
    int64_t done = 0;
    while (auto batch = loader.next()) {
      if (batch->labels.numel() > 0) {
        rows.push_back(engine_->features(batch->images));
        row_labels.push_back(batch->labels.to(context_.device));
      }
      stage_progress(label, ++done, total, seconds_since(start));
    }
    if (rows.empty()) throw_bad_data("no tile of " + label.substr(8) + " could be read");
    features = torch::cat(rows);
    labels = torch::cat(row_labels);
  };
  const auto start = std::chrono::steady_clock::now();
  cache(*train_loader_, plan_.sampler() == data::Sampler::Balanced, "caching training features", train_features_,
        train_feature_labels_);
  cache(*valid_loader_, false, "caching validation features", valid_features_, valid_feature_labels_);
  log().info("cached pooled features of {} training and {} validation tiles in {:.1f}s", train_feature_labels_.numel(),
             valid_feature_labels_.numel(), seconds_since(start));
}

json Session::metrics_json(const Scores& scores, const std::string& prefix, std::optional<double> threshold) const {
  eval::MetricsAccumulator accumulator(plan_.classes, 0, threshold);
  if (scores.labels.numel() > 0)
    accumulator.add(scores.probabilities, scores.labels, infer::decide_labels(scores.probabilities, threshold));
  const auto report = accumulator.report();
  int64_t classes_predicted = 0;
  for (const auto& item : report.per_class) classes_predicted += item.predicted > 0;
  json metrics = {{prefix + "loss", report.log_loss},
                  {prefix + "accuracy", report.accuracy},
                  {prefix + "macro_f1", report.macro.f1},
                  {prefix + "classes_predicted", classes_predicted}};
  if (report.binary) {
    if (std::isfinite(report.binary->roc_auc)) metrics[prefix + "auc"] = report.binary->roc_auc;
    if (std::isfinite(report.binary->pr_auc)) metrics[prefix + "ap"] = report.binary->pr_auc;
    metrics[prefix + "positive_f1"] = report.per_class[1].f1;
    if (threshold) metrics[prefix + "threshold"] = *threshold;
  }
  return metrics;
}

json Session::validate(Phase phase) {
  Scores scores;
  if (cached_head(phase)) {
    network_->eval();
    torch::NoGradGuard no_grad;
    scores.probabilities = network_->forward_head(valid_features_).softmax(1).to(torch::kCPU, torch::kFloat);
    scores.labels = valid_feature_labels_.to(torch::kCPU);
  } else {
    scores = score_split(evaluated(), *valid_loader_, "validating");
  }
  last_validation_ = scores;
  return metrics_json(scores, "val_");
}

double Session::chance_level(Monitor monitor) const {
  return detail::chance_level(monitor_key(monitor), plan_.valid.class_counts);
}

int64_t Session::classes_in_validation() const {
  const auto& counts = plan_.valid.class_counts;
  return std::count_if(counts.begin(), counts.end(), [](int64_t n) { return n > 0; });
}

std::optional<eval::ThresholdPoint> Session::choose_threshold(const fs::path& model_path) {
  if (!plan_.threshold || plan_.classes.size() != 2) return std::nullopt;
  Scores scores = best_validation_;
  if (!scores.probabilities.defined()) {
    // A resumed run whose best epoch came before the interruption: score the saved model.
    infer::InferenceEngine engine(models::load_model_file(model_path, context_.device), context_.device, engine_->options());
    scores = score_split(engine, *valid_loader_, "validating " + model_path.filename().string());
  }
  const auto positive = scores.probabilities.select(1, 1).contiguous();
  const auto truth = scores.labels.eq(1).to(torch::kUInt8).contiguous();
  const std::vector<float> values(positive.data_ptr<float>(), positive.data_ptr<float>() + positive.numel());
  const std::vector<uint8_t> labels(truth.data_ptr<uint8_t>(), truth.data_ptr<uint8_t>() + truth.numel());
  try {
    return eval::choose_threshold(values, labels, *plan_.threshold);
  } catch (const Error& error) {
    log().warn("no decision threshold chosen ({}); predictions take the more probable class", error.what());
    return std::nullopt;
  }
}

void Session::save_model(const fs::path& path, const json& line, const std::string& kind) {
  const auto& o = plan_.options;
  models::ModelMetadata metadata = plan_.model_metadata();
  metadata.training = {{"checkpoint", kind},
                       {"train", o.data.train_dir},
                       {"add_train", o.data.add_train},
                       {"valid", o.data.valid_dir},
                       {"head_epochs", o.phases.head_epochs},
                       {"epochs", o.phases.epochs},
                       {"monitor", monitor_key(plan_.monitor())},
                       {"seed", context_.seed},
                       {"weights", plan_.to_json().at("resolved").at("weights")},
                       {"epoch", line}};
  if (!o.data.from.empty()) metadata.training["finetuned_from"] = o.data.from;
  if (average_) metadata.training["ema"] = o.phases.ema;
  models::save_model_file(path, evaluated().network(), metadata);
}

json Session::test(const fs::path& model_path, const fs::path& run_dir) {
  if (!plan_.has_test) return nullptr;
  infer::InferenceEngine engine(models::load_model_file(model_path, context_.device), context_.device, engine_->options());
  eval::EvalOptions options;
  options.predictions = (run_dir / "test-predictions.csv").string();
  const auto total = static_cast<int64_t>(plan_.test.samples.size());
  const auto start = std::chrono::steady_clock::now();
  const auto result = eval::evaluate(engine, plan_.test, options, context_, [&](int64_t done, int64_t) {
    stage_progress("testing " + model_path.filename().string(), done, total, seconds_since(start), "tile");
  });
  json report = eval::result_to_json(result, engine, model_path.string(), plan_.options.data.test_dir);
  write_file_atomic(run_dir / "test-metrics.json", report.dump(2) + "\n");
  const auto& r = result.report;
  json metrics = {{"test_loss", r.log_loss},
                  {"test_accuracy", r.accuracy},
                  {"test_macro_f1", r.macro.f1},
                  {"test_tiles", r.samples},
                  {"model", model_path.string()}};
  if (r.binary) {
    if (std::isfinite(r.binary->roc_auc)) metrics["test_auc"] = r.binary->roc_auc;
    if (std::isfinite(r.binary->pr_auc)) metrics["test_ap"] = r.binary->pr_auc;
    metrics["test_positive_f1"] = r.per_class[1].f1;
  }
  if (r.threshold) metrics["test_threshold"] = *r.threshold;
  return metrics;
}

}  // namespace satx::train::detail
