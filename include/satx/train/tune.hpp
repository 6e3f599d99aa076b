#pragma once
/// satx tune: hyperparameter search over `satx train` options. Trials run as child
/// `satx train` processes; a sampler (random, then TPE) proposes configurations and
/// asynchronous successive halving (ASHA) stops the trials that trail at a rung. A journal makes
/// the search resumable after kill -9; a leaderboard and the best trial's link come out.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/train/search_space.hpp"

namespace satx::train {

/// Asynchronous successive halving in its stopping form (Li et al., "A System for Massively
/// Parallel Hyperparameter Tuning", MLSys 2020; as Ray Tune's ASHA scheduler).
struct AshaOptions {
  bool enabled = true;
  int min_epochs = 1;  ///< the first rung, in epochs of the whole run (phase 1 counts)
  double eta = 3.0;    ///< reduction factor: rungs at min_epochs * eta^k; a rung keeps its best 1/eta
};

/// The rung epochs up to and including `limit`: min_epochs * eta^k, rounded, increasing.
std::vector<int> asha_rungs(const AshaOptions& options, int limit);

/// The value a trial needs at a rung to continue, given the values earlier trials had at the
/// same rung (larger is better): their (1 - 1/eta) quantile (linear interpolation), or nullopt
/// when nothing is recorded there yet (the trial continues).
std::optional<double> asha_cutoff(std::vector<double> recorded, double eta);

/// Where a trial stands.
enum class TrialStatus { Running, Finished, Stopped, Failed };
const char* trial_status_name(TrialStatus status);

/// One trial as the journal knows it.
struct TrialRecord {
  int index = 0;
  nlohmann::json params = nlohmann::json::object();
  TrialStatus status = TrialStatus::Running;
  std::map<int, double> values;   ///< epoch (whole run) -> the metric that epoch (raw, as logged)
  std::map<int, double> seconds;  ///< epoch -> its seconds
  double wall_seconds = 0.0;      ///< the whole child process
  std::string error;              ///< a failed trial's error

  int epochs() const { return values.empty() ? 0 : values.rbegin()->first; }
};

/// What `satx tune` is asked to do.
struct TuneOptions {
  std::filesystem::path space_file;
  std::vector<std::string> train_args;  ///< flags every trial's `satx train` gets, as given
  std::filesystem::path program;        ///< the satx binary the trials run
  std::filesystem::path out;            ///< the search folder (journal, trials/, leaderboard)
  int trials = 20;
  int parallel = 1;
  std::uint64_t seed = 42;              ///< the sampler's seed, and every trial's -seed unless given
  std::string metric = "auto";          ///< auto: the trials' monitored metric; val_loss is minimized
  SamplerOptions sampler;
  AshaOptions asha;
  double budget_seconds = 0.0;          ///< 0 = none: no trial starts once this much wall time has passed
  int threads_per_trial = 0;            ///< 0 = the machine's cores / parallel (unless the train flags set -threads)
  double poll_seconds = 0.25;           ///< how often running trials are read
};

/// Something a user watching the search wants to know.
struct TuneEvent {
  enum class Kind { Resumed, TrialStart, TrialEpoch, TrialEnd, BudgetSpent };
  Kind kind = Kind::TrialStart;
  const TrialRecord* trial = nullptr;
  int epoch = 0;
  std::string metric;
  std::optional<double> cutoff;  ///< TrialEpoch at a rung: the value needed to continue
  bool best = false;             ///< TrialEnd: the best trial so far
  std::string message;
  std::optional<double> value;   ///< TrialEnd: the trial's best value of the metric (none if it logged no epoch)
};

/// Runs trials. The search starts `satx train` processes (make_process_runner); tests may
/// substitute a model of training.
class TrialRunner {
 public:
  /// What a trial reported since the last poll.
  struct Update {
    std::vector<nlohmann::json> epochs;  ///< new epoch lines of its metrics.jsonl
    std::optional<int> exit_status;      ///< once it ended
    std::string error;                   ///< its last error line, when it failed
    double wall_seconds = 0.0;
  };
  virtual ~TrialRunner() = default;
  /// Starts trial `index` with `flags` (the sampled `-name=value` options) writing into `dir`.
  virtual void start(int index, const std::vector<std::string>& flags, const std::filesystem::path& dir) = 0;
  virtual Update poll(int index) = 0;
  /// Ends a running trial now.
  virtual void stop(int index) = 0;
};

/// The runner of `satx tune`: `<program> train <train_args> <flags> -out=<dir> [-seed] [-threads]`,
/// output in `<dir>.log`.
std::unique_ptr<TrialRunner> make_process_runner(const TuneOptions& options);

/// How the search ended.
struct TuneResult {
  std::vector<TrialRecord> trials;
  std::optional<int> best;        ///< index of the best finished trial
  std::string metric;             ///< the metric resolved from "auto"
  bool interrupted = false;       ///< cancel was set: running trials restart on the next run
  bool resumed = false;
  nlohmann::json summary;         ///< what tune.json holds (compute figures included)
};

/// Runs (or resumes) the search. Throws Usage for a malformed space, a foreign or mismatched
/// journal in `out`, or a second search in the same folder.
TuneResult tune(const TuneOptions& options, TrialRunner& runner, const std::function<void(const TuneEvent&)>& on_event,
                const std::atomic<bool>* cancel = nullptr);

/// The leaderboard: `rank,trial,status,metric,epochs,seconds,run,<one column per parameter>`,
/// finished trials by metric, then stopped ones by the rung they reached, then failed ones.
std::string leaderboard_csv(const SearchSpace& space, const std::vector<TrialRecord>& trials, const std::string& metric);

}  // namespace satx::train
