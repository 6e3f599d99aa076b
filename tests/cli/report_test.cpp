// satx report and satx eval -report end to end: a real training run on tiny data, the page from
// its test predictions or from scoring a folder, a hand-made tuning folder, and the page rendered
// by headless Chromium with no console message and every section in the DOM.
#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

using namespace satx::testing;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTwoClassSections = {"summary", "curves",  "confusion",  "per-class",
                                                    "binary",  "gallery", "model-card"};

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

// One two-class training run with a test split, shared by the tests (training takes seconds).
struct TrainedRun {
  TempDir dir;
  fs::path data = dir / "data";
  fs::path run = dir / "run";
  TrainedRun() {
    make_tiny_dataset(data / "train", {"clear", "cloud"}, 12, 32, 1);
    make_tiny_dataset(data / "valid", {"clear", "cloud"}, 4, 32, 2);
    make_tiny_dataset(data / "test", {"clear", "cloud"}, 6, 32, 3);
    const RunResult r = run_satx("train -q -model=mobilenetv2 -weights=none -input-size=32 -head-epochs=1 -epochs=2 "
                                 "-batch=8 -train=" + q(data / "train") + " -valid=" + q(data / "valid") + " -test=" +
                                 q(data / "test") + " -out=" + q(run));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
};

TrainedRun& trained() {
  static TrainedRun shared;
  return shared;
}

void expect_sections(const std::string& html, const std::vector<std::string>& ids) {
  for (const auto& id : ids) EXPECT_NE(html.find("<section id=\"" + id + "\""), std::string::npos) << id;
}

// Chromium is the browser the test renders with; Debian's package is `chromium`.
std::string chromium_binary() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const RunResult r = run_shell(std::string("command -v ") + name);
    if (r.exit_code == 0 && !r.out.empty()) return r.out.substr(0, r.out.find('\n'));
  }
  return "";
}

}  // namespace

TEST(ReportCli, WritesEverySectionFromATrainingRunsTestPredictions) {
  ASSERT_TRUE(fs::exists(trained().run / "test-predictions.csv"));
  TempDir dir;
  const RunResult r = run_satx("report -run=" + q(trained().run) + " -out=" + q(dir / "report.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, (dir / "report.html").string() + "\n");
  const std::string html = read_text(dir / "report.html");
  expect_sections(html, kTwoClassSections);
  EXPECT_NE(html.find("phase: full"), std::string::npos);  // -weights=none trains the full network only
  EXPECT_NE(html.find("data:image/jpeg;base64,"), std::string::npos);  // the gallery's thumbnails
  EXPECT_NE(html.find("test-predictions.csv"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(ReportCli, ScoresAFolderWithTheRunsModelAndDefaultsToTheRunFolder) {
  TempDir dir;
  fs::copy(trained().run, dir / "run", fs::copy_options::recursive);
  const RunResult r = run_satx("report -q --run " + q(dir / "run") + " --data " + q(trained().data / "test") + " --gallery 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = read_text(dir / "run" / "report.html");
  expect_sections(html, kTwoClassSections);
  EXPECT_NE(html.find("tiles from " + (trained().data / "test").string()), std::string::npos);
  size_t figures = 0;
  for (size_t at = html.find("<figure>"); at != std::string::npos; at = html.find("<figure>", at + 1)) ++figures;
  EXPECT_LE(figures, 6u);  // -gallery 3, twice
}

TEST(ReportCli, EvalWritesTheReportWithTheRunItsModelSitsIn) {
  TempDir dir;
  const RunResult r = run_satx("eval -q -model=" + q(trained().run / "best.safetensors") + " -data=" +
                               q(trained().data / "test") + " -report=" + q(dir / "eval.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = read_text(dir / "eval.html");
  expect_sections(html, kTwoClassSections);
  EXPECT_NE(html.find("phase: full"), std::string::npos);  // the curves of the run folder
  EXPECT_NE(html.find("Every option (config.json)"), std::string::npos);
}

TEST(ReportCli, ReportsOnTheBestTrialOfATuningFolderWithItsLeaderboard) {
  TempDir dir;
  const fs::path tune = dir / "tune";
  fs::create_directories(tune / "trials");
  fs::create_directory_symlink(trained().run, tune / "trials" / "trial-002");
  fs::create_directory_symlink(trained().data, tune / "trials" / "trial-001");  // not a run; never read
  write_text(tune / "leaderboard.csv",
             "rank,trial,status,metric,epochs,seconds,run,lr,head_lr,label_smoothing\n"
             "1,2,finished,0.95,3,40.5,trials/trial-002,0.001,0.003,0.1\n"
             "2,1,stopped,0.81,1,12.0,trials/trial-001,0.01,0.003,0\n"
             "3,3,failed,,0,1.2,trials/trial-003,0.5,0.003,0.2\n");
  fs::create_directory_symlink("trials/trial-002", tune / "best");
  const RunResult r = run_satx("report -run=" + q(tune) + " -out=" + q(dir / "tune.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = read_text(dir / "tune.html");
  expect_sections(html, kTwoClassSections);
  expect_sections(html, {"leaderboard"});
  EXPECT_NE(html.find("<tr class=\"best\" title=\"best trial\"><td>1</td><td>2</td>"), std::string::npos);
  EXPECT_NE(html.find("<th>head_lr</th>"), std::string::npos);
  EXPECT_NE(html.find("phase: full"), std::string::npos);  // best/'s curves
}

TEST(ReportCli, AFolderThatIsNoRunIsBadDataNamingIt) {
  TempDir dir;
  RunResult r = run_satx("report -run=" + q(dir / "missing") + " -out=" + q(dir / "x.html"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find((dir / "missing").string()), std::string::npos) << r.err;
  r = run_satx("report -run=" + q(dir.path()) + " -out=" + q(dir / "x.html"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("not a satx run"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "x.html"));
  r = run_satx("report -run=" + q(trained().run) + " -threshold=0.3 -out=" + q(dir / "x.html"));
  EXPECT_EQ(r.exit_code, 2);  // -threshold without -data
}

TEST(ReportCli, RendersInHeadlessChromiumWithoutConsoleMessages) {
  const std::string chromium = chromium_binary();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium; scripts/install-deps.sh)";
  TempDir dir;
  ASSERT_EQ(run_satx("report -q -run=" + q(trained().run) + " -out=" + q(dir / "report.html")).exit_code, 0);
  const std::string common = "'" + chromium + "' --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 "
                             "--no-first-run --user-data-dir=" + q(dir / "profile") + " --window-size=1280,3000 ";
  const std::string url = "file://" + (dir / "report.html").string();
  const RunResult shot = run_shell("timeout 120 " + common + "--screenshot=" + q(dir / "report.png") + " " + q(url));
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  ASSERT_TRUE(fs::exists(dir / "report.png"));
  EXPECT_GT(fs::file_size(dir / "report.png"), 20000u) << "a blank page would be a few KB";
  const RunResult dom = run_shell("timeout 120 " + common + "--dump-dom " + q(url));
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  // The page has no script, so any console line is a problem: a blocked fetch, a CSP violation,
  // a broken image.
  for (const RunResult* run : {&shot, &dom}) {
    std::istringstream lines(run->err);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_EQ(line.find(":CONSOLE"), std::string::npos) << line;
      EXPECT_EQ(line.find("Uncaught"), std::string::npos) << line;
    }
  }
  for (const auto& id : kTwoClassSections) EXPECT_NE(dom.out.find("id=\"" + id + "\""), std::string::npos) << id;
  EXPECT_NE(dom.out.find("<svg"), std::string::npos);
  EXPECT_NE(dom.out.find("</html>"), std::string::npos);
}
