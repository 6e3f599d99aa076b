// satx tune's search loop with a simulated trainer: ASHA's stops, the journal's resume after an
// interruption or a torn line, determinism, failures, the leaderboard and the best link.
#include <gtest/gtest.h>

#include <cmath>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>

#include "satx/core/error.hpp"
#include "satx/train/tune.hpp"
#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using satx::train::TrialStatus;
using satx::testing::TempDir;
using satx::testing::read_text;
using satx::testing::write_text;

// Trials whose validation accuracy climbs with the epochs towards a ceiling set by `-x`;
// `-x` above 0.9 fails. Each poll advances a trial by 0, 1 or 2 epochs (seeded), so parallel
// trials end in varying orders.
class SimulatedRunner : public satx::train::TrialRunner {
 public:
  explicit SimulatedRunner(int epochs = 6, unsigned speed_seed = 1) : epochs_(epochs), rng_(speed_seed) {}

  void start(int index, const std::vector<std::string>& flags, const fs::path& dir) override {
    Trial trial;
    for (const auto& flag : flags)
      if (flag.rfind("-x=", 0) == 0) trial.x = std::stod(flag.substr(3));
    fs::create_directories(dir);
    trials_[index] = trial;
    starts.push_back(index);
  }

  Update poll(int index) override {
    Trial& t = trials_.at(index);
    Update update;
    if (t.stopped) {
      update.exit_status = 143;
      trials_.erase(index);
      return update;
    }
    if (t.x > 0.9) {
      update.exit_status = 3;
      update.error = "simulated failure";
      trials_.erase(index);
      return update;
    }
    const int steps = static_cast<int>(rng_() % 3);
    for (int s = 0; s < steps && t.epoch < epochs_; ++s) {
      ++t.epoch;
      update.epochs.push_back({{"phase", t.epoch <= 2 ? "head" : "full"}, {"epoch", t.epoch <= 2 ? t.epoch : t.epoch - 2},
                               {"epochs", t.epoch <= 2 ? 2 : epochs_ - 2}, {"global_epoch", t.epoch},
                               {"monitor", "val_accuracy"}, {"seconds", 1.0},
                               {"val_accuracy", (1.0 - std::abs(t.x - 0.3)) * (0.5 + 0.5 * t.epoch / epochs_)}});
    }
    update.wall_seconds = t.epoch;
    if (t.epoch == epochs_) {
      update.exit_status = 0;
      trials_.erase(index);
    }
    return update;
  }

  void stop(int index) override { trials_.at(index).stopped = true; }

  std::vector<int> starts;

 private:
  struct Trial {
    double x = 0.0;
    int epoch = 0;
    bool stopped = false;
  };
  int epochs_;
  std::mt19937 rng_;
  std::map<int, Trial> trials_;
};

satx::train::TuneOptions options_in(const fs::path& dir, const char* space = R"({"x": {"uniform": [0, 0.85]}})") {
  satx::train::TuneOptions o;
  o.space_file = dir / "space.json";
  write_text(o.space_file, space);
  o.out = dir / "search";
  o.trials = 12;
  o.seed = 3;
  o.sampler.startup_trials = 4;
  o.asha.min_epochs = 2;
  o.poll_seconds = 0;
  o.train_args = {"-train=t", "-valid=v"};
  return o;
}

std::vector<json> journal_events(const fs::path& out, const std::string& kind) {
  std::vector<json> events;
  std::ifstream in(out / "journal.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto event = json::parse(line);
    if (event["event"] == kind) events.push_back(event);
  }
  return events;
}

TEST(Tune, AshaStopsTrailingTrialsAtRungsAndKeepsTheBest) {
  TempDir dir;
  auto o = options_in(dir.path());
  SimulatedRunner runner;
  const auto result = satx::train::tune(o, runner, nullptr);
  ASSERT_EQ(result.trials.size(), 12u);
  int stopped = 0;
  for (const auto& t : result.trials) {
    if (t.status == TrialStatus::Stopped) {
      ++stopped;
      EXPECT_TRUE(t.epochs() == 2 || t.epochs() == 6) << "stopped between rungs at " << t.epochs();
    } else {
      EXPECT_EQ(t.status, TrialStatus::Finished);
      EXPECT_EQ(t.epochs(), 6);
    }
  }
  EXPECT_GT(stopped, 3);
  ASSERT_TRUE(result.best.has_value());
  // The best is the finished trial nearest the optimum x = 0.3.
  double best_distance = 1e9;
  int nearest = -1;
  for (const auto& t : result.trials)
    if (t.status == TrialStatus::Finished && std::abs(t.params["x"].get<double>() - 0.3) < best_distance)
      best_distance = std::abs(t.params["x"].get<double>() - 0.3), nearest = t.index;
  EXPECT_EQ(*result.best, nearest);
  char name[16];
  std::snprintf(name, sizeof name, "%04d", nearest);
  EXPECT_EQ(fs::read_symlink(o.out / "best"), fs::path("trials") / name);
  const auto& compute = result.summary["compute"];
  EXPECT_LT(compute["epochs_run"].get<int>(), compute["epochs_if_every_trial_completed"].get<int>());
  EXPECT_EQ(compute["epochs_if_every_trial_completed"].get<int>(), 12 * 6);
}

TEST(Tune, LeaderboardRanksFinishedThenStoppedThenFailed) {
  TempDir dir;
  auto o = options_in(dir.path(), R"({"x": {"uniform": [0, 1]}})");
  o.trials = 16;
  o.sampler.method = "random";
  SimulatedRunner runner;
  const auto result = satx::train::tune(o, runner, nullptr);
  const std::string csv = read_text(o.out / "leaderboard.csv");
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "rank,trial,status,metric,epochs,seconds,run,x");
  std::vector<std::string> statuses;
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    const auto first = line.find(',') + 1;
    const auto second = line.find(',', first) + 1;
    statuses.push_back(line.substr(second, line.find(',', second) - second));
  }
  EXPECT_EQ(rows, 16);
  auto order = [](const std::string& s) { return s == "finished" ? 0 : s == "stopped" ? 1 : 2; };
  for (size_t i = 1; i < statuses.size(); ++i) EXPECT_LE(order(statuses[i - 1]), order(statuses[i])) << csv;
  // x above 0.9 fails: recorded with its error, and the search went on.
  int failed = 0;
  for (const auto& t : result.trials)
    if (t.status == TrialStatus::Failed) {
      ++failed;
      EXPECT_EQ(t.error, "simulated failure");
      EXPECT_GT(t.params["x"].get<double>(), 0.9);
    }
  EXPECT_GT(failed, 0) << "the seed should draw some x above 0.9";
  EXPECT_EQ(statuses.back(), "failed");
}

std::vector<std::pair<json, std::string>> outcome(const satx::train::TuneResult& result) {
  std::vector<std::pair<json, std::string>> out;
  for (const auto& t : result.trials) out.emplace_back(t.params, satx::train::trial_status_name(t.status));
  return out;
}

TEST(Tune, SameSeedSameSearchAtAnySpeedAlsoInParallel) {
  for (int parallel : {1, 3}) {
    TempDir a, b;
    auto oa = options_in(a.path());
    auto ob = options_in(b.path());
    oa.parallel = ob.parallel = parallel;
    SimulatedRunner fast(6, 1), slow(6, 99);
    const auto ra = satx::train::tune(oa, fast, nullptr);
    const auto rb = satx::train::tune(ob, slow, nullptr);
    EXPECT_EQ(outcome(ra), outcome(rb)) << "parallel " << parallel;
  }
}

TEST(Tune, ResumesAfterAnInterruptionWithFinishedTrialsKept) {
  TempDir whole_dir, cut_dir;
  auto whole_options = options_in(whole_dir.path());
  SimulatedRunner whole_runner;
  const auto whole = satx::train::tune(whole_options, whole_runner, nullptr);

  auto o = options_in(cut_dir.path());
  std::atomic<bool> cancel{false};
  int starts = 0;
  SimulatedRunner first;
  const auto cut = satx::train::tune(o, first, [&](const satx::train::TuneEvent& e) {
    if (e.kind == satx::train::TuneEvent::Kind::TrialStart && ++starts == 6) cancel = true;
  }, &cancel);
  EXPECT_TRUE(cut.interrupted);
  const size_t kept = journal_events(o.out, "end").size();
  EXPECT_EQ(kept, 5u);
  // A kill in the middle of a write leaves half a line: it is dropped on resume.
  { std::ofstream(o.out / "journal.jsonl", std::ios::app) << R"({"event":"epoch","trial":)"; }

  SimulatedRunner second;
  std::vector<std::string> events;
  const auto resumed = satx::train::tune(o, second, [&](const satx::train::TuneEvent& e) {
    if (e.kind == satx::train::TuneEvent::Kind::Resumed) events.push_back(e.message);
  }, nullptr);
  EXPECT_TRUE(resumed.resumed);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "5 trial(s) kept, 1 restarted");
  // Finished trials never ran again; the one running at the interruption restarted first.
  for (int index : second.starts) EXPECT_GE(index, 5);
  EXPECT_EQ(outcome(resumed), outcome(whole));
}

TEST(Tune, RefusesAnotherSearchsFolderAndForeignFiles) {
  TempDir dir;
  auto o = options_in(dir.path());
  o.trials = 2;
  SimulatedRunner runner;
  satx::train::tune(o, runner, nullptr);
  auto changed = o;
  changed.seed = 4;
  try {
    satx::train::tune(changed, runner, nullptr);
    ADD_FAILURE() << "resumed a search with another seed";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    EXPECT_NE(std::string(e.what()).find("different seed"), std::string::npos) << e.what();
  }
  // More trials extend the search.
  auto more = o;
  more.trials = 4;
  EXPECT_EQ(satx::train::tune(more, runner, nullptr).trials.size(), 4u);

  auto foreign = options_in(dir.path());
  foreign.out = dir / "foreign";
  fs::create_directories(foreign.out);
  write_text(foreign.out / "journal.jsonl", "{\"not\": \"a journal\"}\n");
  EXPECT_THROW(satx::train::tune(foreign, runner, nullptr), satx::Error);
  auto occupied = options_in(dir.path());
  occupied.out = dir / "occupied";
  fs::create_directories(occupied.out);
  write_text(occupied.out / "notes.txt", "mine");
  try {
    satx::train::tune(occupied, runner, nullptr);
    ADD_FAILURE() << "searched in a folder holding other files";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
  }
  EXPECT_EQ(read_text(occupied.out / "notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(occupied.out / "journal.jsonl"));
}

TEST(Tune, OptionsAreCheckedBeforeAnyTrial) {
  TempDir dir;
  SimulatedRunner runner;
  for (auto mutate : std::vector<std::function<void(satx::train::TuneOptions&)>>{
           [](auto& o) { o.trials = 0; }, [](auto& o) { o.parallel = 0; }, [](auto& o) { o.asha.eta = 1.0; },
           [](auto& o) { o.metric = "accuracy"; }, [](auto& o) { o.sampler.method = "grid"; },
           [](auto& o) { write_text(o.space_file, R"({"x": {"uniform": [1, 0]}})"); }}) {
    auto o = options_in(dir.path());
    mutate(o);
    EXPECT_THROW(satx::train::tune(o, runner, nullptr), satx::Error);
    EXPECT_TRUE(runner.starts.empty());
  }
}

}  // namespace
