// satx tune end to end: real `satx train` trials on a tiny dataset, bad spaces refused before
// any trial, a failing trial recorded, and a search killed with -9 that resumes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace satx::testing;

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

struct TuneFixture {
  TempDir dir;
  TuneFixture() {
    make_tiny_dataset(dir / "data/train", {"a", "b"}, 12, 32, 1);
    make_tiny_dataset(dir / "data/valid", {"a", "b"}, 4, 32, 2);
  }
  // A quick search: random init, 32 px, 3 epochs, 2 threads per trial.
  std::string command(const std::string& space, const std::string& extra = "") const {
    write_text(dir / "space.json", space);
    return "tune -space=" + q(dir / "space.json") + " -train=" + q(dir / "data/train") + " -valid=" +
           q(dir / "data/valid") + " -weights=none -input-size=32 -epochs=3 -batch=8 -threads=1 -out=" +
           q(dir / "search") + " " + extra;
  }
  std::vector<json> events(const std::string& kind) const {
    std::vector<json> found;
    std::ifstream in(dir / "search/journal.jsonl");
    for (std::string line; std::getline(in, line);)
      if (auto event = json::parse(line); event["event"] == kind) found.push_back(event);
    return found;
  }
};

TEST(TuneCli, SearchesWritesALeaderboardAndLinksTheBestModel) {
  TuneFixture f;
  const auto run = run_satx(f.command(R"({"lr": {"loguniform": [1e-4, 1e-2]}, "optimizer": {"choice": ["adamw", "sgd"]}})",
                                      "-trials=3 -min-epochs=1"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto csv = read_text(f.dir / "search/leaderboard.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "rank,trial,status,metric,epochs,seconds,run,lr,optimizer");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;
  EXPECT_TRUE(fs::exists(f.dir / "search/best/best.safetensors"));
  const auto summary = json::parse(read_text(f.dir / "search/tune.json"));
  EXPECT_EQ(summary["metric"], "val_accuracy");
  EXPECT_NE(summary["best"]["command"].get<std::string>().find("-lr="), std::string::npos);
  EXPECT_NE(run.out.find("best: trial"), std::string::npos) << run.out;
  // Each trial got the sampled value on its command line.
  const auto starts = f.events("start");
  ASSERT_EQ(starts.size(), 3u);
  for (const auto& start : starts) {
    char name[16];
    std::snprintf(name, sizeof name, "%04d", start["trial"].get<int>());
    const auto config = json::parse(read_text(f.dir / "search/trials" / name / "config.json"));
    EXPECT_NEAR(config["options"]["lr"].get<double>(), start["params"]["lr"].get<double>(), 1e-12);
    EXPECT_EQ(config["options"]["optimizer"], start["params"]["optimizer"]);
  }
}

TEST(TuneCli, BadSpacesAndOptionsFailBeforeAnyTrial) {
  TuneFixture f;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"learning-rate": {"loguniform": [1e-4, 1e-2]}})", "unknown satx train option 'learning-rate'"},
      {R"({"lr": {"loguniform": [1e-2, 1e-4]}})", "low < high"},
      {R"({"optimizer": {"choice": ["adamw", "lion"]}})", "parameter 'optimizer' value \"lion\""},
      {R"({"out": {"choice": ["a", "b"]}})", "cannot be searched"},
      {R"({"lr": {"uniform": [0.001, 0.01]}, "head_lr": )", "not valid JSON"},
  };
  for (const auto& [space, expected] : cases) {
    const auto run = run_satx(f.command(space, "-trials=2"));
    EXPECT_EQ(run.exit_code, 2) << space << "\n" << run.err;
    EXPECT_NE(run.err.find(expected), std::string::npos) << space << "\n" << run.err;
    EXPECT_FALSE(fs::exists(f.dir / "search/journal.jsonl")) << space;
  }
  const auto both = run_satx(f.command(R"({"lr": {"uniform": [0.001, 0.01]}})", "-lr=0.001 -trials=2"));
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("searched and also given"), std::string::npos) << both.err;
  const auto unknown = run_satx(f.command(R"({"lr": {"uniform": [0.001, 0.01]}})", "-epoch=3"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown option '--epoch'"), std::string::npos) << unknown.err;
}

TEST(TuneCli, AFailingTrialIsRecordedAndTheSearchGoesOn) {
  TuneFixture f;
  // satx train refuses a negative rate when it starts: that trial fails, the others run.
  const auto run = run_satx(f.command(R"({"lr": {"choice": [-1, 0.001]}})", "-trials=4 -search=random -asha=false"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  int failed = 0, finished = 0;
  for (const auto& end : f.events("end")) {
    if (end["status"] == "failed") {
      ++failed;
      EXPECT_FALSE(end.value("error", "").empty());
    }
    if (end["status"] == "finished") ++finished;
  }
  EXPECT_GT(failed, 0);
  EXPECT_GT(finished, 0);
  EXPECT_NE(run.err.find("failed:"), std::string::npos) << run.err;
}

TEST(TuneCli, KilledWithSignal9ItResumesWithoutRerunningFinishedTrials) {
  TuneFixture f;
  const std::string command = f.command(R"({"lr": {"loguniform": [1e-4, 1e-2]}})", "-trials=4 -min-epochs=1");
  // Start, wait for the first trial to end and the second to start, kill -9 the search.
  const auto killed = run_shell("cd " + q(f.dir.path()) + " && (" + std::string(SATX_BINARY) + " " + command +
                                " >/dev/null 2>&1 & pid=$!; for i in $(seq 600); do "
                                "[ $(grep -c '\"event\":\"start\"' search/journal.jsonl 2>/dev/null || echo 0) -ge 2 ] && break; "
                                "sleep 0.1; done; kill -9 $pid; wait $pid; echo $?)");
  ASSERT_NE(killed.out.find("137"), std::string::npos) << killed.out << killed.err;
  ASSERT_GE(f.events("end").size(), 1u);
  // The trial running at the kill died with the search (no orphan writing into its folder).
  // ([s] keeps pgrep from matching the shell that runs it.)
  EXPECT_EQ(run_shell("sleep 0.5; pgrep -f " + q(f.dir / "[s]earch/trials")).out, "");
  const auto resumed = run_satx(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming the search"), std::string::npos) << resumed.err;
  std::map<int, int> starts;
  for (const auto& start : f.events("start")) ++starts[start["trial"].get<int>()];
  EXPECT_EQ(starts.size(), 4u);
  EXPECT_EQ(starts[0], 1) << "a finished trial ran again";
  int ended = 0;
  for (const auto& end : f.events("end")) ended += end["status"] != "running";
  EXPECT_EQ(ended, 4);
}

}  // namespace
