// satx tune's search loop: start trials as slots free up, read their epochs, stop the ones
// that trail at a rung, journal everything so a kill loses nothing but running trials.
#include "satx/train/tune.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <deque>
#include <set>
#include <thread>

#include "detail/tune_journal.hpp"
#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/core/strings.hpp"

namespace satx::train {

using detail::JournalState;

std::vector<int> asha_rungs(const AshaOptions& options, int limit) {
  std::vector<int> rungs;
  for (double r = std::max(1, options.min_epochs); r <= limit + 1e-9; r *= options.eta) {
    const int epoch = static_cast<int>(std::lround(r));
    if (rungs.empty() || epoch > rungs.back()) rungs.push_back(epoch);
  }
  return rungs;
}

std::optional<double> asha_cutoff(std::vector<double> recorded, double eta) {
  if (recorded.empty()) return std::nullopt;
  std::sort(recorded.begin(), recorded.end());
  const double position = (1.0 - 1.0 / eta) * static_cast<double>(recorded.size() - 1);
  const size_t low = static_cast<size_t>(std::floor(position));
  if (low + 1 >= recorded.size()) return recorded.back();
  return recorded[low] + (position - static_cast<double>(low)) * (recorded[low + 1] - recorded[low]);
}

namespace {

void check_options(const TuneOptions& o) {
  if (o.trials < 1) throw_option("trials", "must be at least 1, got " + std::to_string(o.trials));
  if (o.parallel < 1 || o.parallel > 256) throw_option("parallel", "must be 1..256, got " + std::to_string(o.parallel));
  if (!(o.asha.eta > 1.0)) throw_option("eta", "must be above 1 (3 keeps a third at each rung)");
  if (o.asha.min_epochs < 1) throw_option("min_epochs", "must be at least 1");
  if (o.sampler.method != "tpe" && o.sampler.method != "random")
    throw_option("search", unknown_value_message("search", o.sampler.method, {"tpe", "random"}));
  if (o.sampler.startup_trials < 0) throw_option("startup_trials", "must be 0 or more");
  if (o.metric != "auto" && !starts_with(o.metric, "val_"))
    throw_option("metric", "must be auto or a validation metric (val_accuracy, val_macro_f1, val_loss, val_ap, val_auc), got '" + o.metric + "'");
  if (o.budget_seconds < 0) throw_option("budget", "must be 0 (none) or more");
}

nlohmann::json make_header(const TuneOptions& o, const SearchSpace& space) {
  return {{"event", "tune"},
          {"version", 1},
          {"space", space.to_json()},
          {"train_args", o.train_args},
          {"seed", o.seed},
          {"metric", o.metric},
          {"sampler", {{"method", o.sampler.method}, {"startup_trials", o.sampler.startup_trials},
                       {"candidates", o.sampler.candidates}, {"prior_weight", o.sampler.prior_weight}}},
          {"asha", {{"enabled", o.asha.enabled}, {"min_epochs", o.asha.min_epochs}, {"eta", o.asha.eta}}},
          {"parallel", o.parallel},
          {"satx_version", SATX_VERSION}};
}

class Search {
 public:
  Search(const TuneOptions& o, TrialRunner& runner, const std::function<void(const TuneEvent&)>& on_event)
      : o_(o), runner_(runner), on_event_(on_event) {}

  TuneResult run(const std::atomic<bool>* cancel) {
    check_options(o_);
    space_ = load_search_space(o_.space_file);
    std::error_code error;
    std::filesystem::create_directories(o_.out, error);
    if (error) throw_runtime("cannot create " + o_.out.string() + ": " + error.message());
    FileLock lock(o_.out, "the tune folder");
    const auto journal_path = o_.out / "journal.jsonl";
    state_ = detail::read_journal(journal_path);
    const auto header = make_header(o_, space_);
    if (state_.header.is_null()) {
      if (std::filesystem::exists(journal_path)) std::filesystem::remove(journal_path);
      // A new search needs a folder of its own: never mix trials into someone else's files.
      check_new_folder_except_trials();
    } else if (const auto field = detail::header_mismatch(state_.header, header); !field.empty()) {
      throw_usage(o_.out.string() + " holds a search with a different " + field + " (" + state_.header[field].dump() +
                  "); rerun with the same options to resume it, or choose another -out");
    }
    std::filesystem::create_directories(o_.out / "trials", error);
    if (error) throw_runtime("cannot create " + (o_.out / "trials").string() + ": " + error.message());
    journal_path_ = journal_path;
    if (state_.header.is_null()) journal(header);
    if (state_.metric.empty() && o_.metric != "auto") state_.metric = o_.metric;

    TuneResult result;
    for (const auto& trial : state_.trials)
      if (trial.status == TrialStatus::Running) restarts_.push_back(trial.index);
    result.resumed = !state_.trials.empty();
    if (result.resumed) emit({TuneEvent::Kind::Resumed, nullptr, 0, state_.metric, std::nullopt, false,
                              std::to_string(state_.trials.size() - restarts_.size()) + " trial(s) kept, " +
                                  std::to_string(restarts_.size()) + " restarted"});
    state_.trials.reserve(static_cast<size_t>(std::max<int>(o_.trials, static_cast<int>(state_.trials.size()))));

    const auto start = std::chrono::steady_clock::now();
    bool budget_told = false;
    while (true) {
      if (cancel && cancel->load()) {
        for (int index : running_) runner_.stop(index);
        result.interrupted = true;
        break;
      }
      const bool budget_spent = o_.budget_seconds > 0 && seconds_since(start) >= o_.budget_seconds;
      if (budget_spent && !budget_told && has_more()) {
        emit({TuneEvent::Kind::BudgetSpent, nullptr, 0, state_.metric, std::nullopt, false, ""});
        budget_told = true;
      }
      if (!budget_spent) start_trials();
      if (running_.empty()) break;
      poll_trials();
      if (!running_.empty() && o_.poll_seconds > 0)
        std::this_thread::sleep_for(std::chrono::duration<double>(o_.poll_seconds));
    }
    if (!state_.trials.empty()) detail::write_tune_outputs(o_.out, space_, state_, o_.train_args);
    result.trials = state_.trials;
    result.metric = state_.metric;
    result.summary = detail::tune_summary(space_, state_, o_.train_args);
    if (result.summary.contains("best")) result.best = result.summary["best"]["trial"].get<int>();
    return result;
  }

 private:
  void check_new_folder_except_trials() {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(o_.out, error)) {
      if (entry.path().filename() == "trials" && std::filesystem::is_empty(entry.path(), error)) continue;
      throw_usage(o_.out.string() + " holds files but no satx tune journal (" + entry.path().filename().string() +
                  ", ...); choose an empty or new -out");
    }
  }

  bool has_more() const { return !restarts_.empty() || static_cast<int>(state_.trials.size()) < o_.trials; }

  // Trial i starts once every trial up to i - parallel has ended, and sees only those: the
  // same seed then gives the same configurations and the same stops at any speed.
  bool history_final(int index) const {
    for (int j = 0; j <= index - o_.parallel; ++j)
      if (state_.trials[static_cast<size_t>(j)].status == TrialStatus::Running) return false;
    return true;
  }

  std::vector<Observation> observations(int index) const {
    std::vector<Observation> history;
    const std::vector<TrialRecord> seen(state_.trials.begin(), state_.trials.begin() + std::max(0, index - o_.parallel + 1));
    const auto ranked = detail::rank_trials(seen, detail::metric_maximized(state_.metric));
    for (size_t r = 0; r < ranked.size(); ++r) {
      const bool failed = ranked[r]->status == TrialStatus::Failed || ranked[r]->values.empty();
      history.push_back({ranked[r]->params, failed ? -INFINITY : -static_cast<double>(r)});
    }
    return history;
  }

  void start_trials() {
    while (static_cast<int>(running_.size()) < o_.parallel) {
      int index;
      const bool restart = !restarts_.empty();
      if (restart) index = restarts_.front();
      else if (static_cast<int>(state_.trials.size()) < o_.trials) index = static_cast<int>(state_.trials.size());
      else return;
      if (!history_final(index)) return;
      nlohmann::json params;
      if (restart) {
        restarts_.pop_front();
        params = state_.trials[static_cast<size_t>(index)].params;
      } else {
        params = sample_params(space_, o_.sampler, o_.seed, index, observations(index));
        state_.trials.emplace_back();
      }
      TrialRecord& trial = state_.trials[static_cast<size_t>(index)];
      trial = TrialRecord{};
      trial.index = index;
      trial.params = params;
      state_.end_order.erase(std::remove(state_.end_order.begin(), state_.end_order.end(), index), state_.end_order.end());
      journal({{"event", "start"}, {"trial", index}, {"params", params}});
      const auto dir = detail::trial_dir(o_.out, index);
      std::error_code error;
      std::filesystem::remove_all(dir, error);
      running_.insert(index);
      emit({TuneEvent::Kind::TrialStart, &trial, 0, state_.metric, std::nullopt, false, ""});
      try {
        runner_.start(index, params_to_flags(space_, params), dir);
      } catch (const Error& e) {
        end_trial(index, TrialStatus::Failed, 0.0, e.what());
      }
    }
  }

  void poll_trials() {
    for (int index : std::vector<int>(running_.begin(), running_.end())) {
      const auto update = runner_.poll(index);
      bool stopped = false;
      for (const auto& line : update.epochs)
        if (!stopped) stopped = read_epoch(index, line);
      if (stopped || !update.exit_status) continue;
      if (*update.exit_status == 0) end_trial(index, TrialStatus::Finished, update.wall_seconds, "");
      else end_trial(index, TrialStatus::Failed, update.wall_seconds, update.error);
    }
  }

  // Returns whether the trial was stopped at this epoch's rung.
  bool read_epoch(int index, const nlohmann::json& line) {
    if (state_.metric.empty()) {
      state_.metric = line.value("monitor", "val_accuracy");
      journal({{"event", "metric"}, {"name", state_.metric}});
    }
    if (!line.contains(state_.metric) || !line[state_.metric].is_number()) {
      std::vector<std::string> present;
      for (const auto& [key, value] : line.items())
        if (starts_with(key, "val_")) present.push_back(key);
      for (int running : running_) runner_.stop(running);
      throw_usage("the trials' epochs report no '" + state_.metric + "' (they report " + join(present) +
                  "); choose -metric from those");
    }
    TrialRecord& trial = state_.trials[static_cast<size_t>(index)];
    const int epoch = line.at("global_epoch").get<int>();
    trial.values[epoch] = line[state_.metric].get<double>();
    trial.seconds[epoch] = line.value("seconds", 0.0);
    journal({{"event", "epoch"}, {"trial", index}, {"epoch", epoch}, {"value", trial.values[epoch]},
                      {"seconds", trial.seconds[epoch]}});
    const bool maximize = detail::metric_maximized(state_.metric);
    const bool last = line.value("phase", "") == "full" && line.value("epoch", 0) == line.value("epochs", -1);
    const auto rungs = asha_rungs(o_.asha, epoch);
    std::optional<double> cutoff;
    bool stop = false;
    if (o_.asha.enabled && !last && !rungs.empty() && rungs.back() == epoch) {
      std::vector<double> recorded;
      for (int j = 0; j <= index - o_.parallel; ++j) {
        const auto& other = state_.trials[static_cast<size_t>(j)];
        if (other.epochs() < epoch) continue;
        if (const auto value = detail::oriented_best(other, epoch, maximize)) recorded.push_back(*value);
      }
      cutoff = asha_cutoff(recorded, o_.asha.eta);
      const auto mine = detail::oriented_best(trial, epoch, maximize);
      stop = cutoff && (!mine || *mine < *cutoff);
      if (cutoff && !maximize) cutoff = -*cutoff;
    }
    emit({TuneEvent::Kind::TrialEpoch, &trial, epoch, state_.metric, cutoff, false, stop ? "stop" : ""});
    if (!stop) return false;
    runner_.stop(index);
    const auto update = runner_.poll(index);
    end_trial(index, TrialStatus::Stopped, update.wall_seconds, "");
    return true;
  }

  void end_trial(int index, TrialStatus status, double seconds, const std::string& error) {
    TrialRecord& trial = state_.trials[static_cast<size_t>(index)];
    trial.status = status;
    trial.wall_seconds = seconds;
    trial.error = error;
    running_.erase(index);
    state_.end_order.push_back(index);
    const bool maximize = detail::metric_maximized(state_.metric);
    const auto best = detail::oriented_best(trial, INT_MAX, maximize);
    nlohmann::json event = {{"event", "end"}, {"trial", index}, {"status", trial_status_name(status)},
                            {"epochs", trial.epochs()}, {"seconds", seconds}};
    event["value"] = best ? nlohmann::json(maximize ? *best : -*best) : nlohmann::json();
    if (!error.empty()) event["error"] = error;
    journal(event);
    detail::write_tune_outputs(o_.out, space_, state_, o_.train_args);
    const auto ranked = detail::rank_trials(state_.trials, maximize);
    const bool is_best = status == TrialStatus::Finished && ranked.front()->index == index;
    TuneEvent end{TuneEvent::Kind::TrialEnd, &trial, trial.epochs(), state_.metric, std::nullopt, is_best, error, {}};
    if (best) end.value = maximize ? *best : -*best;
    emit(end);
  }

  // One fsynced line per event: a kill loses at most the line being written.
  void journal(const nlohmann::json& event) { append_file_synced(journal_path_, event.dump() + "\n"); }

  void emit(const TuneEvent& event) {
    if (on_event_) on_event_(event);
  }

  const TuneOptions& o_;
  TrialRunner& runner_;
  const std::function<void(const TuneEvent&)>& on_event_;
  SearchSpace space_;
  JournalState state_;
  std::filesystem::path journal_path_;
  std::deque<int> restarts_;
  std::set<int> running_;
};

}  // namespace

TuneResult tune(const TuneOptions& options, TrialRunner& runner, const std::function<void(const TuneEvent&)>& on_event,
                const std::atomic<bool>* cancel) {
  return Search(options, runner, on_event).run(cancel);
}

}  // namespace satx::train
