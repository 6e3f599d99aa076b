// satx predict: score tiles from a folder, file, list or stdin into CSV, JSONL or GeoJSON,
// resumable and shardable.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "option_groups.hpp"
#include "progress.hpp"
#include "satx/models/model_file.hpp"
#include "satx/predict/inputs.hpp"
#include "satx/predict/job.hpp"

namespace satx::cli {
namespace {

struct PredictCliOptions {
  std::string model;
  std::string input;
  std::string output;
  std::string format;
  std::string shard;
  predict::PredictJobOptions job;
  infer::EngineOptions engine;
};

predict::ShardSpec resolve_shard(const std::string& flag) {
  if (!flag.empty()) return predict::parse_shard(flag);
  if (auto from_environment = predict::shard_from_environment(predict::process_environment())) return *from_environment;
  return predict::ShardSpec{0, 1, "none"};
}

int run_predict(const PredictCliOptions& o, const CommonOptions& common) {
  predict::PredictJobOptions options = o.job;
  options.output = o.output;
  if (!o.format.empty()) options.format = io::parse_output_format(o.format);
  else io::format_from_path(o.output);  // an unknown extension is a usage error before any work
  options.shard = resolve_shard(o.shard);

  Context context = make_cli_context(common);
  models::LoadedModel model = models::load_model_file(o.model, context.device);
  const std::vector<std::string> inputs = predict::collect_inputs(o.input, std::cin);
  if (inputs.empty()) context.log->warn("-input {} names no image files", o.input);
  if (options.shard.count > 1)
    context.log->info("shard {}/{} (from {})", options.shard.index, options.shard.count, options.shard.source);

  infer::InferenceEngine engine(std::move(model), context.device, o.engine);
  context.log->debug("scoring on {} ({}) with {} decode threads", context.device.str(),
                     engine.autocast() ? c10::toString(*engine.autocast()) : "float32",
                     infer::resolve_decode_threads(options.scorer, context));

  std::unique_ptr<Progress> progress;
  const predict::PredictSummary summary =
      predict::run_predict_job(engine, inputs, options, context, [&](const predict::PredictProgress& p) {
        if (!progress) progress = std::make_unique<Progress>("predict", p.total, "tile", 5000, common.quiet);
        progress->update(p.done, p.failed ? Metrics{{"unreadable", static_cast<double>(p.failed)}} : Metrics{});
      });
  if (progress) progress->finish();

  std::string message = std::to_string(summary.scored) + " tiles scored";
  if (summary.seconds > 0 && summary.scored > 0) {
    char rate[64];
    std::snprintf(rate, sizeof rate, " in %.1f s (%.0f tiles/s)", summary.seconds, summary.scored / summary.seconds);
    message += rate;
  }
  if (options.positive_only) message += ", " + std::to_string(summary.written) + " positive rows written";
  if (summary.already_done) message += ", " + std::to_string(summary.already_done) + " already done (resume)";
  if (options.shard.count > 1)
    message += ", shard " + std::to_string(options.shard.index) + "/" + std::to_string(options.shard.count) + " holds " +
               std::to_string(summary.in_shard) + " of " + std::to_string(summary.inputs) + " inputs";
  message += " -> " + o.output;
  if (summary.threshold) message += " (threshold " + std::to_string(*summary.threshold) + ")";
  context.log->info("{}", message);
  if (summary.failed > 0)
    context.log->warn("{} tiles could not be read; listed in {}", summary.failed,
                      summary.error_log.empty() ? std::string("the log above") : summary.error_log.string());
  return 0;
}

}  // namespace

void setup_predict(CLI::App& command, Run& run) {
  auto options = std::make_shared<PredictCliOptions>();
  auto common = std::make_shared<CommonOptions>();
  auto& o = *options;
  command.add_option("--model,-m", o.model, "Model file (.safetensors written by satx train)")->required()->group("Input");
  command.add_option("--input,-i", o.input,
                     "A folder (searched recursively for images), one image, a text file of paths, or - for paths on stdin")
      ->required()->group("Input");
  command.add_option("--shard", o.shard,
                     "Score shard K/N of the inputs (by a hash of each path); default from SLURM_ARRAY_TASK_ID/"
                     "SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/SATX_SHARD_COUNT when set")
      ->group("Input");

  command.add_option("--output,-o", o.output, "Output file (- for stdout); the format follows the extension: .csv, .jsonl, .geojson")
      ->required()->group("Output");
  command.add_option("--format", o.format, "Output format when the extension does not say: csv, jsonl or geojson")->group("Output");
  command.add_option("--topk", o.job.topk, "Write the K most probable labels with their scores instead of every class probability (0 = all)")
      ->group("Output");
  command.add_flag("--positive-only", o.job.positive_only, "Two-class models: write only tiles decided positive")->group("Output");
  command.add_flag("--resume", o.job.resume, "Continue an interrupted run: keep the rows already in the output, score only the rest")
      ->group("Output");
  command.add_option("--flush-every", o.job.flush_every, "Tiles between checkpoints (a crash loses at most this many rows)")
      ->group("Output");
  bind_threshold_option(command, o.job.threshold);
  bind_engine_options(command, o.engine);
  bind_scorer_options(command, o.job.scorer);
  add_common_options(command, *common);

  run = [options, common] { return run_predict(*options, *common); };
}

}  // namespace satx::cli
