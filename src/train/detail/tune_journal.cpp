#include "tune_journal.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include <unistd.h>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"

namespace satx::train::detail {

namespace {

TrialStatus parse_status(const std::string& name) {
  if (name == "finished") return TrialStatus::Finished;
  if (name == "stopped") return TrialStatus::Stopped;
  if (name == "failed") return TrialStatus::Failed;
  return TrialStatus::Running;
}

void apply(JournalState& state, const nlohmann::json& event) {
  const std::string kind = event.at("event").get<std::string>();
  if (kind == "metric") {
    state.metric = event.at("name").get<std::string>();
    return;
  }
  const int index = event.at("trial").get<int>();
  if (index < 0 || index > 1'000'000) throw std::out_of_range("trial index");
  if (kind == "start") {
    if (static_cast<size_t>(index) >= state.trials.size()) state.trials.resize(static_cast<size_t>(index) + 1);
    // A restart replaces what the killed attempt logged.
    TrialRecord& trial = state.trials[static_cast<size_t>(index)];
    trial = TrialRecord{};
    state.end_order.erase(std::remove(state.end_order.begin(), state.end_order.end(), index), state.end_order.end());
    trial.index = index;
    trial.params = event.at("params");
    return;
  }
  if (static_cast<size_t>(index) >= state.trials.size()) throw std::out_of_range("an event for a trial never started");
  TrialRecord& trial = state.trials[static_cast<size_t>(index)];
  if (kind == "epoch") {
    const int epoch = event.at("epoch").get<int>();
    trial.values[epoch] = event.at("value").is_number() ? event.at("value").get<double>() : std::nan("");
    trial.seconds[epoch] = event.value("seconds", 0.0);
  } else if (kind == "end") {
    trial.status = parse_status(event.at("status").get<std::string>());
    state.end_order.push_back(index);
    trial.wall_seconds = event.value("seconds", 0.0);
    trial.error = event.value("error", "");
  } else {
    throw std::invalid_argument("unknown event '" + kind + "'");
  }
}

}  // namespace

JournalState read_journal(const std::filesystem::path& path) {
  JournalState state;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return state;
  const std::string text = read_file(path);
  size_t begin = 0;
  int line_number = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    if (end == std::string::npos) {
      // A kill in the middle of a write: the half line never happened. Cut it off so the next
      // event starts on a line of its own.
      if (::truncate(path.c_str(), static_cast<off_t>(begin)) != 0)
        throw_runtime("cannot repair " + path.string() + ": " + std::strerror(errno));
      break;
    }
    ++line_number;
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    try {
      const auto event = nlohmann::json::parse(line);
      if (line_number == 1) {
        if (!event.is_object() || event.value("event", "") != "tune") throw std::invalid_argument("not a satx tune journal");
        state.header = event;
        continue;
      }
      apply(state, event);
    } catch (const std::exception& e) {
      throw_bad_data(path.string() + " line " + std::to_string(line_number) + ": " + e.what() +
                     (line_number == 1 ? "" : " (a satx tune journal edited by hand?)"));
    }
  }
  for (size_t i = 0; i < state.trials.size(); ++i)
    if (state.trials[i].params.is_null() || (state.trials[i].index != static_cast<int>(i)))
      throw_bad_data(path.string() + ": trial " + std::to_string(i) + " has no start event");
  return state;
}

std::string header_mismatch(const nlohmann::json& journal, const nlohmann::json& wanted) {
  for (const char* field : {"space", "train_args", "seed", "metric", "sampler", "asha", "parallel"}) {
    if (journal.value(field, nlohmann::json()) != wanted.value(field, nlohmann::json())) return field;
  }
  return "";
}

bool metric_maximized(const std::string& metric) { return metric.find("loss") == std::string::npos; }

std::optional<double> oriented_best(const TrialRecord& trial, int epoch, bool maximize) {
  std::optional<double> best;
  for (const auto& [e, value] : trial.values) {
    if (e > epoch) break;
    if (!std::isfinite(value)) continue;
    const double oriented = maximize ? value : -value;
    if (!best || oriented > *best) best = oriented;
  }
  return best;
}

std::vector<const TrialRecord*> rank_trials(const std::vector<TrialRecord>& trials, bool maximize) {
  struct Key {
    int tier;
    double value;
  };
  auto key = [&](const TrialRecord& t) {
    const auto best = oriented_best(t, INT_MAX, maximize);
    const double value = best.value_or(-std::numeric_limits<double>::infinity());
    if (t.status == TrialStatus::Failed || !best) return Key{-1, value};
    if (t.status == TrialStatus::Finished) return Key{INT_MAX, value};
    return Key{t.epochs(), value};
  };
  std::vector<const TrialRecord*> order;
  for (const auto& t : trials) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [&](const TrialRecord* a, const TrialRecord* b) {
    const Key ka = key(*a), kb = key(*b);
    if (ka.tier != kb.tier) return ka.tier > kb.tier;
    if (ka.value != kb.value) return ka.value > kb.value;
    return a->index < b->index;
  });
  return order;
}

}  // namespace satx::train::detail
