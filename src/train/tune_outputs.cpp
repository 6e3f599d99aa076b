// What satx tune leaves beside its journal: the leaderboard, tune.json and the `best` link.
#include <climits>
#include <cmath>
#include <cstdio>
#include <unistd.h>

#include "detail/tune_journal.hpp"
#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/core/strings.hpp"
#include "satx/io/prediction_format.hpp"

namespace satx::train {

namespace {

std::string number(double value, const char* format = "%.6g") {
  if (!std::isfinite(value)) return "";
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace

const char* trial_status_name(TrialStatus status) {
  switch (status) {
    case TrialStatus::Running: return "running";
    case TrialStatus::Finished: return "finished";
    case TrialStatus::Stopped: return "stopped";
    case TrialStatus::Failed: return "failed";
  }
  return "?";
}

std::string leaderboard_csv(const SearchSpace& space, const std::vector<TrialRecord>& trials, const std::string& metric) {
  const bool maximize = detail::metric_maximized(metric);
  std::string csv = "rank,trial,status,metric,epochs,seconds,run";
  for (const auto& param : space.params) csv += "," + io::csv_field(param.name);
  csv += "\n";
  int rank = 0;
  for (const TrialRecord* trial : detail::rank_trials(trials, maximize)) {
    const auto best = detail::oriented_best(*trial, INT_MAX, maximize);
    const double value = best ? (maximize ? *best : -*best) : std::nan("");
    csv += std::to_string(++rank) + "," + std::to_string(trial->index) + "," + trial_status_name(trial->status) + "," +
           number(value) + "," + std::to_string(trial->epochs()) + "," + number(trial->wall_seconds, "%.1f") + "," +
           io::csv_field(detail::trial_dir("", trial->index).string());
    for (const auto& param : space.params)
      csv += "," + (trial->params.contains(param.name) ? io::csv_field(format_param_value(trial->params.at(param.name))) : "");
    csv += "\n";
  }
  return csv;
}

namespace detail {

std::filesystem::path trial_dir(const std::filesystem::path& out, int index) {
  char name[16];
  std::snprintf(name, sizeof name, "%04d", index);
  return out / "trials" / name;
}

nlohmann::json tune_summary(const SearchSpace& space, const JournalState& state, const std::vector<std::string>& train_args) {
  const bool maximize = metric_maximized(state.metric);
  nlohmann::json counts = {{"finished", 0}, {"stopped", 0}, {"failed", 0}, {"running", 0}};
  std::optional<int> best;
  std::optional<double> best_value;
  for (const auto& trial : state.trials) {
    counts[trial_status_name(trial.status)] = counts[trial_status_name(trial.status)].get<int>() + 1;
    if (trial.status != TrialStatus::Finished) continue;
    const auto value = oriented_best(trial, INT_MAX, maximize);
    if (value && (!best_value || *value > *best_value)) best_value = value, best = trial.index;
  }
  // What one full trial costs, from the finished ones: their length and each epoch's mean time.
  int full_epochs = 0;
  std::map<int, std::pair<double, int>> epoch_seconds;
  for (const auto& trial : state.trials) {
    if (trial.status != TrialStatus::Finished) continue;
    full_epochs = std::max(full_epochs, trial.epochs());
    for (const auto& [epoch, seconds] : trial.seconds) {
      epoch_seconds[epoch].first += seconds;
      epoch_seconds[epoch].second += 1;
    }
  }
  double seconds_run = 0.0, seconds_all = 0.0, seconds_to_best = 0.0;
  long long epochs_run = 0, epochs_all = 0, epochs_to_best = 0;
  for (const auto& trial : state.trials) {
    seconds_run += trial.wall_seconds;
    epochs_run += trial.epochs();
    double complete = trial.wall_seconds;
    for (int epoch = trial.epochs() + 1; epoch <= full_epochs; ++epoch)
      if (epoch_seconds.count(epoch)) complete += epoch_seconds[epoch].first / epoch_seconds[epoch].second;
    seconds_all += complete;
    epochs_all += std::max(full_epochs, trial.epochs());
  }
  for (int index : state.end_order) {
    seconds_to_best += state.trials[static_cast<size_t>(index)].wall_seconds;
    epochs_to_best += state.trials[static_cast<size_t>(index)].epochs();
    if (best && index == *best) break;
  }
  nlohmann::json summary = {{"metric", state.metric}, {"maximize", maximize}, {"trials", counts}};
  nlohmann::json compute = {{"epochs_run", epochs_run},         {"seconds_run", seconds_run},
                            {"full_trial_epochs", full_epochs}, {"epochs_if_every_trial_completed", epochs_all},
                            {"seconds_if_every_trial_completed", seconds_all}};
  if (best) {
    const auto& trial = state.trials[static_cast<size_t>(*best)];
    const auto flags = params_to_flags(space, trial.params);
    std::vector<std::string> command = {"satx", "train"};
    command.insert(command.end(), train_args.begin(), train_args.end());
    command.insert(command.end(), flags.begin(), flags.end());
    summary["best"] = {{"trial", *best},
                       {"value", maximize ? *best_value : -*best_value},
                       {"params", trial.params},
                       {"run", trial_dir("", *best).string()},
                       {"command", join(command, " ", "")}};
    compute["epochs_to_best"] = epochs_to_best;
    compute["seconds_to_best"] = seconds_to_best;
  }
  summary["compute"] = compute;
  return summary;
}

void write_tune_outputs(const std::filesystem::path& out, const SearchSpace& space, const JournalState& state,
                        const std::vector<std::string>& train_args) {
  write_file_atomic(out / "leaderboard.csv", leaderboard_csv(space, state.trials, state.metric));
  const auto summary = tune_summary(space, state, train_args);
  write_file_atomic(out / "tune.json", summary.dump(2) + "\n");
  if (!summary.contains("best")) return;
  // A new link under a temporary name renamed over the old one: never a moment without `best`.
  const auto link = out / "best";
  const auto temporary = out / (".best.tmp-" + std::to_string(::getpid()));
  std::error_code error;
  std::filesystem::remove(temporary, error);
  std::filesystem::create_directory_symlink(summary["best"]["run"].get<std::string>(), temporary, error);
  if (!error) std::filesystem::rename(temporary, link, error);
  if (error) throw_runtime("cannot link " + link.string() + " to the best trial: " + error.message());
}

}  // namespace detail

}  // namespace satx::train
