#pragma once
/// A whole `satx predict` run: sharding, resume, streaming the rows to the output and the
/// unreadable tiles to the error log, with checkpoints every `flush_every` tiles.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "satx/core/context.hpp"
#include "satx/infer/engine.hpp"
#include "satx/io/prediction_format.hpp"
#include "satx/infer/scorer.hpp"
#include "satx/predict/shard.hpp"

namespace satx::predict {

/// What a predict run does.
struct PredictJobOptions {
  /// Output file; "-" is stdout (no resume, errors only counted).
  std::filesystem::path output;
  /// The format; unset: from the output's extension.
  std::optional<io::OutputFormat> format;
  /// 0: every class probability; K: the K best labels.
  int topk = 0;
  /// Binary models: overrides the model's stored decision threshold.
  std::optional<double> threshold;
  /// Binary models: write only tiles decided positive (class 1).
  bool positive_only = false;
  /// Continue an existing output: skip tiles it (or its error log) already holds, cut a torn
  /// last record, append.
  bool resume = false;
  /// Tiles between checkpoints (a crash loses at most this many rows).
  int64_t flush_every = 1000;
  /// This run's share of the inputs.
  ShardSpec shard;
  infer::ScorerOptions scorer;
};

/// Where a run stands, for progress displays.
struct PredictProgress {
  int64_t done = 0;    ///< tiles handled this run (scored or failed)
  int64_t total = 0;   ///< tiles this run has to handle
  int64_t failed = 0;  ///< unreadable tiles this run
};

/// What a run did.
struct PredictSummary {
  int64_t inputs = 0;        ///< paths given (duplicates removed)
  int64_t in_shard = 0;      ///< of which in this shard
  int64_t already_done = 0;  ///< of which found in the output or error log (resume)
  int64_t scored = 0;        ///< scored by this run
  int64_t written = 0;       ///< rows written by this run (scored, or positives with positive_only)
  int64_t positives = 0;     ///< binary models: tiles decided positive
  int64_t failed = 0;        ///< unreadable tiles this run
  double seconds = 0;        ///< time spent scoring
  std::optional<double> threshold;  ///< the binary decision threshold used
  std::filesystem::path error_log;  ///< where failures went (empty for stdout)
  io::OutputFormat format = io::OutputFormat::Csv;
};

/// Runs predict over `inputs` with `engine` on the context's device. Usage errors for options
/// that do not fit the model (a threshold or -positive-only on a model that is not binary, a
/// resumed output whose columns differ); BadData for a resumed output that satx did not write.
PredictSummary run_predict_job(infer::InferenceEngine& engine, const std::vector<std::string>& inputs,
                               const PredictJobOptions& options, const Context& context,
                               const std::function<void(const PredictProgress&)>& on_progress = {});

}  // namespace satx::predict
