#pragma once
/// What a training run folder holds, read back for `satx report`: the epochs of metrics.jsonl,
/// config.json, the best model's metadata, the test results; and for a `satx tune` folder, its
/// leaderboard and the best trial's run.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/models/model_file.hpp"

namespace satx::eval {

/// One epoch line of metrics.jsonl. Values a line lacks are NaN.
struct EpochRecord {
  std::string phase;     ///< "head", "full", ...
  int epoch = 0;         ///< 1-based within the phase
  int epochs = 0;        ///< of the phase
  int global_epoch = 0;  ///< 1-based over the run
  double lr = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0, val_macro_f1 = 0;
  double val_ap = 0;     ///< two-class runs that monitor average precision
  double seconds = 0;
  bool improved = false;
  std::string collapse;  ///< why the collapse guard rolled this epoch back; empty when it did not
};

/// A `satx tune` leaderboard.csv: a header, then one row per trial, best first.
struct Leaderboard {
  std::vector<std::string> header;  ///< rank,trial,status,metric,epochs,seconds,run,<parameters...>
  std::vector<std::vector<std::string>> rows;
  /// The row of the best trial (the one `best/` links to; the first row when the link names none).
  size_t best_row = 0;
  /// The index of `name` in header, or npos.
  size_t column(const std::string& name) const;
};

/// A run folder as the report sees it. Every file is optional but a run needs at least one of
/// metrics.jsonl, config.json and best.safetensors.
struct RunRecord {
  std::filesystem::path folder;       ///< the run the report is about (for a tuning folder: best/, resolved)
  std::filesystem::path tune_folder;  ///< the tuning folder when one was named, else empty
  std::optional<Leaderboard> leaderboard;
  std::vector<EpochRecord> epochs;    ///< in file order
  nlohmann::json test;                ///< the "phase":"test" line of metrics.jsonl (null when absent)
  nlohmann::json test_metrics;        ///< test-metrics.json (null when absent)
  nlohmann::json config;              ///< config.json (null when absent)
  std::optional<models::ModelMetadata> model;  ///< best.safetensors' metadata
  std::filesystem::path model_path;   ///< best.safetensors (empty when absent)
  std::filesystem::path predictions;  ///< test-predictions.csv (empty when absent)
  /// The run's wall time: from config.json (written first) to the last write of metrics.jsonl;
  /// a resumed run counts its pause too. Unset without both files.
  std::optional<double> run_seconds;
  std::vector<std::string> warnings;  ///< lines that could not be read, a leaderboard without best/, ...
};

/// Reads `folder`. A folder with leaderboard.csv is a tuning folder: the record is then about the
/// run `best` links to (or the first row's run when there is no link), with the leaderboard.
/// BadData naming the folder when it is missing, is not a run, or best.safetensors is malformed.
RunRecord read_run_folder(const std::filesystem::path& folder);

/// Reads a leaderboard.csv. BadData naming it when it is empty or lacks the rank and run columns.
Leaderboard read_leaderboard(const std::filesystem::path& csv);

/// Parses metrics.jsonl text: the epoch lines into `epochs`, the test line into `test`; lines
/// that are not JSON objects are skipped and counted in the return value.
int parse_metrics_lines(const std::string& text, std::vector<EpochRecord>& epochs, nlohmann::json& test);

}  // namespace satx::eval
