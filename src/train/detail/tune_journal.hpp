#pragma once
// satx tune's journal: one JSON line per event (the search's header, a trial's start, each of
// its epochs, its end), appended and fsynced, so a search killed at any instant resumes with
// every finished trial kept and every running one restarted.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/train/tune.hpp"

namespace satx::train::detail {

/// What the journal held when the search (re)started.
struct JournalState {
  nlohmann::json header;              ///< the first line; null for a new journal
  std::vector<TrialRecord> trials;    ///< by index; a trial without an end event is Running
  std::string metric;                 ///< resolved from "auto" by the first epoch, or ""
  std::vector<int> end_order;         ///< trials in the order they ended
};

/// Reads `path` (missing: an empty state). A final line cut by a kill is dropped and the file
/// truncated to the last whole line; any other malformed line, or a first line that is not a
/// tune header, is BadData naming the line.
JournalState read_journal(const std::filesystem::path& path);

/// The fields of a header that must match for a journal to be resumed ("" when they do; else
/// the first field that differs, named as its option).
std::string header_mismatch(const nlohmann::json& journal, const nlohmann::json& wanted);

/// Whether larger values of `metric` are better (everything but losses).
bool metric_maximized(const std::string& metric);

/// The best value of `trial`'s metric up to `epoch` (inclusive), oriented so larger is better;
/// nullopt when it has no epoch there.
std::optional<double> oriented_best(const TrialRecord& trial, int epoch, bool maximize);

/// Trials ordered best first: finished by value, then the rest by the epochs they reached and
/// their value there, failed last.
std::vector<const TrialRecord*> rank_trials(const std::vector<TrialRecord>& trials, bool maximize);

/// tune.json's content: the metric, counts by status, the best trial (params, value, run folder,
/// the command that retrains it) and the compute figures: epochs and seconds spent, spent until
/// the best trial ended, and (estimated from the finished trials' epochs) what running every
/// trial to completion would have cost.
nlohmann::json tune_summary(const SearchSpace& space, const JournalState& state, const std::vector<std::string>& train_args);

/// Rewrites leaderboard.csv, tune.json and the `best` link in `out` (each atomically).
void write_tune_outputs(const std::filesystem::path& out, const SearchSpace& space, const JournalState& state,
                        const std::vector<std::string>& train_args);

/// A trial's folder under `out`: trials/0007.
std::filesystem::path trial_dir(const std::filesystem::path& out, int index);

}  // namespace satx::train::detail
