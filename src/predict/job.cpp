#include "satx/predict/job.hpp"
#include "satx/core/strings.hpp"

#include <chrono>
#include <optional>
#include <unordered_set>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/io/georef.hpp"
#include "satx/io/prediction_reader.hpp"
#include "satx/io/prediction_writer.hpp"

namespace fs = std::filesystem;

namespace satx::predict {

namespace {

void check_options(const PredictJobOptions& options, const models::ModelMetadata& metadata) {
  const bool binary = metadata.classes.size() == 2;
  if (options.topk < 0) throw_option("topk", "=" + std::to_string(options.topk) + " must be 0 (all classes) or positive");
  if (options.flush_every < 1) throw_option("flush_every", "=" + std::to_string(options.flush_every) + " must be at least 1");
  if (options.positive_only && !binary)
    throw_option("positive_only", "applies to two-class models; this model has " + std::to_string(metadata.classes.size()) + " classes");
  if (options.resume && options.output == "-") throw_option("resume", "needs an output file, not stdout");
  std::error_code error;
  if (options.output != "-" && fs::is_directory(options.output, error))
    throw_option("output", "'" + options.output.string() + "' is a folder; give the path of a file to write");
  if (options.resume && fs::exists(options.output, error) && !fs::is_regular_file(options.output, error))
    throw_option("resume", "needs a regular file to continue; '" + options.output.string() + "' is not one");
  infer::check_scorer_options(options.scorer);
}

std::vector<std::string> unique_inputs(const std::vector<std::string>& inputs) {
  std::unordered_set<std::string> seen;
  seen.reserve(inputs.size());
  std::vector<std::string> unique;
  unique.reserve(inputs.size());
  for (const auto& path : inputs)
    if (seen.insert(path).second) unique.push_back(path);
  return unique;
}

}  // namespace

PredictSummary run_predict_job(infer::InferenceEngine& engine, const std::vector<std::string>& inputs,
                               const PredictJobOptions& options, const Context& context,
                               const std::function<void(const PredictProgress&)>& on_progress) {
  const models::ModelMetadata& metadata = engine.metadata();
  check_options(options, metadata);
  PredictSummary summary;
  summary.format = options.format ? *options.format : io::format_from_path(options.output.string());
  summary.threshold = infer::resolve_threshold(metadata, options.threshold);

  const std::vector<std::string> all = unique_inputs(inputs);
  summary.inputs = static_cast<int64_t>(all.size());

  io::OutputLayout layout;
  layout.format = summary.format;
  layout.classes = metadata.classes;
  layout.topk = options.topk;
  // Decided on every input, not this shard's, so all shards write the same columns.
  for (const auto& path : all)
    if (io::parse_tile_path(path)) {
      layout.tile_columns = true;
      break;
    }

  std::vector<std::string> pending = select_shard(all, options.shard);
  summary.in_shard = static_cast<int64_t>(pending.size());

  const bool to_stdout = options.output == "-";
  summary.error_log = to_stdout ? fs::path() : io::error_log_path(options.output);
  // Held until the run ends, before anything is read or cut, so a second writer stops here.
  std::optional<FileLock> lock;
  if (!to_stdout) lock.emplace(options.output, "the output");
  io::OutputScan output_scan, error_scan;
  if (options.resume) {
    std::unordered_set<std::string> done;
    output_scan = io::scan_output(options.output, layout.format, [&](io::StoredRecord&& record) { done.insert(std::move(record.path)); });
    if (layout.format == io::OutputFormat::Csv && !output_scan.header.empty() && output_scan.header != io::csv_header(layout))
      throw_bad_data("cannot -resume " + options.output.string() + ": its columns differ from this run's (another model, " +
                     "-topk or input set?)\n  file: " + output_scan.header + "  this run: " + io::csv_header(layout));
    if (!output_scan.shape.empty() && output_scan.shape != io::record_shape(layout))
      throw_bad_data("cannot -resume " + options.output.string() + ": its records hold other scores than this run's " +
                     "(another model or -topk?)\n  file: " + output_scan.shape + "\n  this run: " + io::record_shape(layout));
    // The error log keeps paths byte for byte, while JSON outputs replace invalid UTF-8: each is
    // compared in its own spelling, or a tile with such a name would be listed again per resume.
    std::unordered_set<std::string> failed_before;
    error_scan = io::scan_error_log(summary.error_log, [&](io::ErrorEntry&& entry) { failed_before.insert(std::move(entry.path)); });
    std::vector<std::string> remaining;
    remaining.reserve(pending.size());
    for (auto& path : pending)
      if (!done.count(io::path_as_written(path, layout.format)) && !failed_before.count(path))
        remaining.push_back(std::move(path));
    summary.already_done = static_cast<int64_t>(pending.size() - remaining.size());
    pending = std::move(remaining);
    if (context.log)
      context.log->info("resuming {}: {} records kept, {} unreadable tiles already listed, {} tiles to go",
                        options.output.string(), output_scan.records, error_scan.records, pending.size());
  }

  io::PredictionWriter writer(options.output, layout, options.resume ? &output_scan : nullptr);
  io::ErrorLog errors(summary.error_log, options.resume ? &error_scan : nullptr);

  PredictProgress progress;
  progress.total = static_cast<int64_t>(pending.size());
  const auto start = std::chrono::steady_clock::now();

  // Checkpoints fall exactly every flush_every tiles, inside a batch if need be.
  auto handled_one = [&] {
    if (++progress.done % options.flush_every == 0) {
      // Rows first: a crash between the two flushes re-scores those errors, never loses rows.
      writer.flush();
      errors.flush();
    }
  };

  infer::score_tiles(engine, pending, {}, options.scorer, context, [&](const infer::ScoredBatch& batch) {
    for (const auto& bad : batch.failed) {
      errors.add(io::ErrorEntry{bad.path, bad.reason});
      ++summary.failed;
      handled_one();
    }
    const auto n = static_cast<int64_t>(batch.indices.size());
    if (n > 0) {
      const torch::Tensor probabilities = batch.probabilities.contiguous();
      const torch::Tensor labels = infer::decide_labels(probabilities, summary.threshold);
      const float* p = probabilities.data_ptr<float>();
      const int64_t* label = labels.data_ptr<int64_t>();
      const auto classes = probabilities.size(1);
      io::PredictionRow row;
      for (int64_t i = 0; i < n; ++i) {
        const bool positive = classes == 2 && label[i] == 1;
        summary.positives += positive;
        ++summary.scored;
        if (!options.positive_only || positive) {
          row.path = pending[batch.indices[static_cast<size_t>(i)]];
          row.label = label[i];
          row.probabilities = p + i * classes;
          row.score = row.probabilities[label[i]];
          row.tile = layout.tile_columns || layout.format != io::OutputFormat::Csv ? io::parse_tile_path(row.path) : std::nullopt;
          writer.write(row);
        }
        handled_one();
      }
    }
    progress.failed = summary.failed;
    if (on_progress) on_progress(progress);
  });

  writer.finish();
  errors.flush();
  summary.written = writer.rows_written();
  summary.seconds = seconds_since(start);
  return summary;
}

}  // namespace satx::predict
