// satx eval: score a labelled folder, print the metrics, optionally choose and store a binary
// threshold, and fail (exit 4) below quality floors.
#include <iostream>

#include "cli.hpp"
#include "progress.hpp"
#include "satx/core/files.hpp"
#include "satx/data/dataset.hpp"
#include "satx/eval/evaluator.hpp"
#include "satx/eval/gate.hpp"
#include "satx/eval/report.hpp"
#include "satx/eval/threshold.hpp"
#include "satx/models/model_file.hpp"

namespace satx::cli {
namespace {

struct EvalCliOptions {
  std::string model;
  std::string data;
  int batch = 128;
  int topk = -1;
  bool tta = false;
  std::vector<double> tta_scales = infer::InferenceOptions().tta_scales;
  std::optional<double> threshold;
  std::string choose_threshold;
  std::string json;
  std::string csv;
  std::string misclassified;
  std::vector<std::string> fail_under;
  bool strict = false;
  std::string precision = "auto";
  int decode_threads = 0;
};

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
  const int topk = eval::resolve_topk(o.topk, metadata.classes.size());
  check_gate_names(gates, metadata, topk);

  data::Dataset dataset = data::discover_dataset(o.data);
  for (const auto& warning : dataset.warnings) context.log->warn("{}", warning);
  data::relabel(dataset, metadata.classes);

  infer::InferenceOptions inference;
  inference.precision = o.precision;
  inference.tta = o.tta;
  inference.tta_scales = o.tta_scales;
  infer::InferenceEngine engine(std::move(model), context.device, inference);

  eval::EvalOptions options;
  options.topk = topk;
  options.threshold = o.threshold;
  options.scorer.batch_size = o.batch;
  options.scorer.strict = o.strict;
  options.scorer.decode_threads = o.decode_threads;

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
    nlohmann::json j = eval::report_to_json(result.report);
    j["model"] = o.model;
    j["data"] = o.data;
    j["tta"] = o.tta;
    j["tta_sizes"] = engine.input_sizes();
    j["unreadable"] = result.failed.size();
    j["seconds"] = result.seconds;
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
  command.add_flag("--strict", o.strict, "Treat an unreadable tile as fatal (exit 3) instead of leaving it out")->group("Input");

  command.add_option("--topk", o.topk, "Top-k accuracy: K, 0 = off, -1 = 5 when the model has more than 5 classes")->group("Metrics");
  command.add_flag("--tta", o.tta, "Average the 8 dihedral views (flips and 90-degree rotations) of each tile")->group("Metrics");
  add_tta_scales_option(command, o.tta_scales, "Metrics");
  command.add_option("--threshold", o.threshold, "Two-class models: decision threshold on p(positive class), overriding the stored one")
      ->group("Metrics");
  command.add_option("--choose-threshold", o.choose_threshold,
                     "Two-class models: choose a threshold (youden, f1, precision>=P, recall>=R) and store it in the model file")
      ->group("Metrics");
  command.add_option("--fail-under", o.fail_under, gate_help())->group("Metrics")->allow_extra_args(false);

  command.add_option("--json", o.json, "Write the full report as JSON to this file")->group("Output");
  command.add_option("--csv", o.csv, "Write the report as a long CSV (metric,class,predicted,value) to this file")->group("Output");
  command.add_option("--misclassified", o.misclassified, "Write the wrongly classified tiles (path, true and predicted label, scores) as CSV")
      ->group("Output");

  command.add_option("--batch,-b", o.batch, "Tiles per forward pass")->group("Runtime");
  command.add_option("--precision", o.precision, "auto (float16 on CUDA, float32 on CPU), float32, float16 or bfloat16")->group("Runtime");
  command.add_option("--decode-threads", o.decode_threads, "Threads decoding tiles (0 = a share of --threads)")->group("Runtime");
  add_common_options(command, *common);

  run = [options, common] { return run_eval(*options, *common); };
}

}  // namespace satx::cli
