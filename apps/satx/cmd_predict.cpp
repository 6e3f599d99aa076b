// satx predict: score tiles from a folder, file, list or stdin into CSV, JSONL or GeoJSON,
// resumable and shardable.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli.hpp"
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
  int topk = 0;
  std::optional<double> threshold;
  bool positive_only = false;
  bool resume = false;
  int64_t flush_every = 1000;
  std::string shard;
  int batch = 128;
  bool tta = false;
  std::vector<double> tta_scales = infer::InferenceOptions().tta_scales;
  std::string precision = "auto";
  int decode_threads = 0;
  bool strict = false;
};

predict::ShardSpec resolve_shard(const std::string& flag) {
  if (!flag.empty()) return predict::parse_shard(flag);
  if (auto from_environment = predict::shard_from_environment(predict::process_environment())) return *from_environment;
  return predict::ShardSpec{0, 1, "none"};
}

int run_predict(const PredictCliOptions& o, const CommonOptions& common) {
  predict::PredictJobOptions options;
  options.output = o.output;
  if (!o.format.empty()) options.format = io::parse_output_format(o.format);
  else io::format_from_path(o.output);  // an unknown extension is a usage error before any work
  options.topk = o.topk;
  options.threshold = o.threshold;
  options.positive_only = o.positive_only;
  options.resume = o.resume;
  options.flush_every = o.flush_every;
  options.shard = resolve_shard(o.shard);
  options.scorer.batch_size = o.batch;
  options.scorer.decode_threads = o.decode_threads;
  options.scorer.strict = o.strict;

  Context context = make_cli_context(common);
  models::LoadedModel model = models::load_model_file(o.model, context.device);
  const std::vector<std::string> inputs = predict::collect_inputs(o.input, std::cin);
  if (inputs.empty()) context.log->warn("-input {} names no image files", o.input);
  if (options.shard.count > 1)
    context.log->info("shard {}/{} (from {})", options.shard.index, options.shard.count, options.shard.source);

  infer::InferenceOptions inference;
  inference.precision = o.precision;
  inference.tta = o.tta;
  inference.tta_scales = o.tta_scales;
  infer::InferenceEngine engine(std::move(model), context.device, inference);
  context.log->debug("scoring on {} in {} with {} decode threads", context.device.str(), c10::toString(engine.dtype()),
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
  command.add_flag("--strict", o.strict, "Stop at the first unreadable tile (exit 3) instead of listing it in <output>.errors")
      ->group("Input");

  command.add_option("--output,-o", o.output, "Output file (- for stdout); the format follows the extension: .csv, .jsonl, .geojson")
      ->required()->group("Output");
  command.add_option("--format", o.format, "Output format when the extension does not say: csv, jsonl or geojson")->group("Output");
  command.add_option("--topk", o.topk, "Write the K most probable labels with their scores instead of every class probability (0 = all)")
      ->group("Output");
  command.add_option("--threshold", o.threshold, "Two-class models: decision threshold on p(positive class), overriding the stored one")
      ->group("Output");
  command.add_flag("--positive-only", o.positive_only, "Two-class models: write only tiles decided positive")->group("Output");
  command.add_flag("--resume", o.resume, "Continue an interrupted run: keep the rows already in the output, score only the rest")
      ->group("Output");
  command.add_option("--flush-every", o.flush_every, "Tiles between checkpoints (a crash loses at most this many rows)")->group("Output");

  command.add_option("--batch,-b", o.batch, "Tiles per forward pass")->group("Runtime");
  command.add_flag("--tta", o.tta, "Average the 8 dihedral views of each tile (8x slower)")->group("Runtime");
  add_tta_scales_option(command, o.tta_scales, "Runtime");
  command.add_option("--precision", o.precision, "auto (float16 on CUDA, float32 on CPU), float32, float16 or bfloat16")->group("Runtime");
  command.add_option("--decode-threads", o.decode_threads, "Threads decoding tiles (0 = a share of --threads on CPU, all on CUDA)")
      ->group("Runtime");
  add_common_options(command, *common);

  run = [options, common] { return run_predict(*options, *common); };
}

}  // namespace satx::cli
