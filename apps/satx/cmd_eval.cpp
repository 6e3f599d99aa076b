// satx eval: score a labelled folder, print the metrics, optionally choose and store a binary
// threshold, and fail (exit 4) below quality floors.
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "option_groups.hpp"
#include "progress.hpp"
#include "satx/core/files.hpp"
#include "satx/data/dataset.hpp"
#include "satx/eval/evaluator.hpp"
#include "satx/eval/gate.hpp"
#include "satx/eval/html_report.hpp"
#include "satx/eval/report.hpp"
#include "satx/eval/threshold.hpp"
#include "satx/models/model_file.hpp"

namespace satx::cli {
namespace {

struct EvalCliOptions {
  std::string model;
  std::string data;
  eval::EvalOptions eval;
  infer::EngineOptions engine;
  std::string choose_threshold;
  std::string json;
  std::string csv;
  std::string misclassified;
  std::string report;
  eval::HtmlReportOptions html;
  std::vector<std::string> fail_under;
};

// The HTML page of this evaluation; a model inside a training run folder brings the run's curves
// and recipe along.
void write_report(const EvalCliOptions& o, const models::ModelMetadata& metadata, const eval::EvalResult& result,
                  const Context& context) {
  eval::HtmlReportInput input;
  input.model = metadata;
  input.model_path = o.model;
  const std::filesystem::path folder = std::filesystem::absolute(o.model).parent_path();
  std::error_code missing;
  if (std::filesystem::exists(folder / "metrics.jsonl", missing) || std::filesystem::exists(folder / "config.json", missing)) {
    try {
      input.run = eval::read_run_folder(folder);
    } catch (const Error& error) {
      context.log->warn("the report leaves out the run folder {}: {}", folder.string(), error.what());
    }
  }
  input.evaluation = eval::report_evaluation(result, o.data, o.html.gallery);
  const uint64_t bytes = eval::write_html_report(o.report, input, o.html);
  context.log->info("wrote {} ({:.1f} KB)", o.report, bytes / 1024.0);
}

std::string gate_help() {
  std::string text = "Exit 4 when METRIC < FLOOR (repeatable), e.g. -fail-under accuracy=0.95. Metrics:";
  for (const auto& [name, help] : eval::gate_metric_help()) text += "\n  " + name + ": " + help;
  return text;
}

// Fails on gate names the model cannot have (a class it lacks, roc_auc on ten classes) before
// any tile is scored.
void check_gate_names(const std::vector<eval::QualityGate>& gates, const models::ModelMetadata& metadata, int topk) {
  eval::Report shape;
  shape.classes = metadata.classes;
  shape.topk = topk;
  for (const auto& name : metadata.classes) shape.per_class.push_back(eval::ClassMetrics{name});
  if (metadata.classes.size() == 2) shape.binary = eval::BinaryMetrics{};
  for (const auto& gate : gates) eval::metric_value(shape, gate.metric);
}

int run_eval(const EvalCliOptions& o, const CommonOptions& common) {
  std::vector<eval::QualityGate> gates;
  for (const auto& text : o.fail_under) gates.push_back(eval::parse_quality_gate(text));
  std::optional<eval::ThresholdCriterion> criterion;
  if (!o.choose_threshold.empty()) criterion = eval::parse_threshold_criterion(o.choose_threshold);

  Context context = make_cli_context(common);
  models::LoadedModel model = models::load_model_file(o.model, context.device);
  const models::ModelMetadata metadata = model.metadata;
  if (criterion && metadata.classes.size() != 2)
    throw_usage("-choose-threshold applies to two-class models; " + o.model + " has " +
                std::to_string(metadata.classes.size()) + " classes");
  // Checked before the evaluation, not after minutes of it.
  if (criterion && is_read_only(o.model))
    throw_usage("-choose-threshold stores the threshold in " + o.model + ", which is read-only; copy the model and " +
                "evaluate the copy");
  const int topk = eval::resolve_topk(o.eval.topk, metadata.classes.size());
  check_gate_names(gates, metadata, topk);

  data::Dataset dataset = data::discover_dataset(o.data);
  for (const auto& warning : dataset.warnings) context.log->warn("{}", warning);
  data::relabel(dataset, metadata.classes);

  infer::InferenceEngine engine(std::move(model), context.device, o.engine);
  eval::EvalOptions options = o.eval;
  options.topk = topk;
  if (!o.report.empty()) options.least_confident = o.html.gallery;

  context.log->info("evaluating {} on {} ({} tiles, {} classes{})", o.model, o.data, dataset.samples.size(),
                    metadata.classes.size(),
                    engine.views() > 1 ? ", " + std::to_string(engine.views()) + "-view TTA" : std::string());
  Progress progress("eval", static_cast<int64_t>(dataset.samples.size()), "tile", 1000, common.quiet);
  eval::EvalResult result = eval::evaluate(engine, dataset, options, context,
                                           [&](int64_t done, int64_t) { progress.update(done); });
  progress.finish();
  if (!result.failed.empty())
    context.log->warn("{} tiles could not be read and were left out (listed above)", result.failed.size());

  std::cout << eval::format_report(result.report);

  nlohmann::json extra;
  if (criterion) {
    const eval::ThresholdPoint chosen = eval::choose_threshold(result.positive_scores, result.positive_labels, *criterion);
    models::ModelMetadata updated = models::read_model_metadata(o.model);
    updated.threshold = chosen.threshold;
    updated.training["threshold_rule"] = criterion->text;
    models::update_model_metadata(o.model, updated);
    std::printf("\nchosen threshold %.4f (%s): precision %.4f, recall %.4f, fpr %.4f, f1 %.4f; stored in %s\n",
                chosen.threshold, criterion->text.c_str(), chosen.precision, chosen.recall, chosen.fpr, chosen.f1,
                o.model.c_str());
    std::fflush(stdout);
    extra = {{"rule", criterion->text}, {"threshold", chosen.threshold}, {"precision", chosen.precision},
             {"recall", chosen.recall}, {"fpr", chosen.fpr}, {"f1", chosen.f1}};
  }

  const std::vector<eval::GateFailure> failures = eval::check_gates(result.report, gates);
  if (!o.json.empty()) {
    nlohmann::json j = eval::result_to_json(result, engine, o.model, o.data);
    if (criterion) j["chosen_threshold"] = extra;
    j["gates"] = nlohmann::json::array();
    for (const auto& gate : gates) {
      bool failed = false;
      for (const auto& f : failures) failed = failed || f.metric == gate.metric;
      j["gates"].push_back({{"metric", gate.metric}, {"floor", gate.floor}, {"passed", !failed}});
    }
    write_file_atomic(o.json, j.dump(2) + "\n");
  }
  if (!o.csv.empty()) write_file_atomic(o.csv, eval::report_to_csv(result.report));
  if (!o.misclassified.empty())
    write_file_atomic(o.misclassified, eval::misclassified_csv(result.misclassified, metadata.classes));
  if (!o.report.empty()) write_report(o, metadata, result, context);

  if (!failures.empty()) {
    std::string message = "quality gate failed: ";
    for (size_t i = 0; i < failures.size(); ++i) message += (i ? "; " : "") + failures[i].message();
    throw Error(ErrorCode::QualityGate, message);
  }
  return 0;
}

}  // namespace

void setup_eval(CLI::App& command, Run& run) {
  auto options = std::make_shared<EvalCliOptions>();
  auto common = std::make_shared<CommonOptions>();
  auto& o = *options;
  command.add_option("--model,-m", o.model, "Model file (.safetensors written by satx train)")->required()->group("Input");
  command.add_option("--data", o.data, "Labelled folder: one sub-folder per class, the model's classes in any order")
      ->required()->group("Input");
  command.add_option("--topk", o.eval.topk, "Top-k accuracy: K, 0 = off, -1 = 5 when the model has more than 5 classes")
      ->group("Metrics");
  command.add_option("--choose-threshold", o.choose_threshold,
                     "Two-class models: choose a threshold (youden, f1, precision>=P, recall>=R) and store it in the model file")
      ->group("Metrics");
  command.add_option("--fail-under", o.fail_under, gate_help())->group("Metrics")->allow_extra_args(false);
  bind_threshold_option(command, o.eval.threshold);

  command.add_option("--json", o.json, "Write the full report as JSON to this file")->group("Output");
  command.add_option("--csv", o.csv, "Write the report as a long CSV (metric,class,predicted,value) to this file")->group("Output");
  command.add_option("--misclassified", o.misclassified, "Write the wrongly classified tiles (path, true and predicted label, scores) as CSV")
      ->group("Output");
  command.add_option("--predictions", o.eval.predictions,
                     "Write every scored tile (path, true label, predicted label, score, class probabilities) as CSV")
      ->group("Output");
  command.add_option("--report", o.report,
                     "Write a self-contained HTML report (confusion heat map, per-class metrics, curves, error gallery) "
                     "to this file")
      ->group("Output");
  bind_html_report_options(command, o.html, "HTML report");

  bind_engine_options(command, o.engine);
  bind_scorer_options(command, o.eval.scorer);
  add_common_options(command, *common);

  run = [options, common] { return run_eval(*options, *common); };
}

}  // namespace satx::cli
