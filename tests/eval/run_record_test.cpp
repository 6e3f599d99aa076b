// eval::read_run_folder and read_predictions_csv: what the report reads from a run, a tuning
// folder, and a per-tile CSV; and the report's small helpers (escaping, base64, thinning).
#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "eval/detail/html.hpp"
#include "eval/detail/svg_plot.hpp"
#include "satx/core/error.hpp"
#include "satx/eval/html_report.hpp"
#include "satx/eval/run_record.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using namespace satx::eval;
using satx::testing::TempDir;
using satx::testing::write_text;

namespace {

const char* kMetrics =
    R"({"phase":"head","epoch":1,"epochs":1,"global_epoch":1,"lr":0.003,"train_loss":0.9,"train_accuracy":0.6,"val_loss":0.8,"val_accuracy":0.7,"val_macro_f1":0.65,"seconds":2.5,"improved":true,"monitor":"val_accuracy"}
{"phase":"full","epoch":1,"epochs":2,"global_epoch":2,"lr":0.001,"train_loss":0.5,"train_accuracy":0.8,"val_loss":0.4,"val_accuracy":0.9,"val_macro_f1":0.88,"seconds":3.5,"improved":true}
{"phase":"full","epoch":2,"epochs":2,"global_epoch":3,"lr":0.0,"train_loss":0.4,"train_accuracy":0.85,"val_loss":0.45,"val_accuracy":0.5,"seconds":3.0,"improved":false,"collapse":"one class","rolled_back_to":{"phase":"full","epoch":1}}
{"phase":"threshold","criterion":"f1","threshold":0.4}
{"phase":"test","test_accuracy":0.91,"test_tiles":40}
{"phase":"full","epoch":3,"tr)";

}  // namespace

TEST(RunRecord, ParsesEpochsPhasesCollapsesAndTheTestLine) {
  std::vector<EpochRecord> epochs;
  nlohmann::json test;
  EXPECT_EQ(parse_metrics_lines(kMetrics, epochs, test), 1);  // the torn last line
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(epochs[0].phase, "head");
  EXPECT_EQ(epochs[2].global_epoch, 3);
  EXPECT_DOUBLE_EQ(epochs[1].lr, 0.001);
  EXPECT_DOUBLE_EQ(epochs[1].val_macro_f1, 0.88);
  EXPECT_TRUE(std::isnan(epochs[2].val_macro_f1));  // absent
  EXPECT_TRUE(std::isnan(epochs[0].val_ap));
  EXPECT_EQ(epochs[2].collapse, "one class");
  EXPECT_TRUE(epochs[1].improved);
  EXPECT_EQ(test.value("test_tiles", 0), 40);
}

TEST(RunRecord, ReadsARunFolderAndWarnsAboutBrokenLines) {
  TempDir dir;
  write_text(dir / "metrics.jsonl", kMetrics);
  write_text(dir / "config.json", R"({"options":{"lr":0.001},"resolved":{"seed":7}})");
  write_text(dir / "test-metrics.json", "[1, 2]");
  const RunRecord run = read_run_folder(dir.path());
  EXPECT_EQ(run.folder, dir.path());
  EXPECT_TRUE(run.tune_folder.empty());
  EXPECT_FALSE(run.leaderboard);
  EXPECT_EQ(run.epochs.size(), 3u);
  EXPECT_EQ(run.config["resolved"]["seed"], 7);
  EXPECT_TRUE(run.test_metrics.is_null());
  EXPECT_FALSE(run.model);
  ASSERT_EQ(run.warnings.size(), 2u);  // the torn line; test-metrics.json is not an object
}

TEST(RunRecord, RefusesAMissingFolderAndOneThatIsNoRun) {
  TempDir dir;
  try {
    read_run_folder(dir / "nope");
    FAIL() << "expected an error";
  } catch (const satx::Error& error) {
    EXPECT_EQ(error.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(error.what()).find((dir / "nope").string()), std::string::npos);
  }
  try {
    read_run_folder(dir.path());
    FAIL() << "expected an error";
  } catch (const satx::Error& error) {
    EXPECT_NE(std::string(error.what()).find("not a satx run"), std::string::npos) << error.what();
  }
}

TEST(RunRecord, ResolvesATuningFolderToItsBestTrial) {
  TempDir dir;
  const fs::path tune = dir / "tune";
  for (const char* trial : {"trial-1", "trial-2"}) {
    fs::create_directories(tune / trial);
    write_text(tune / trial / "metrics.jsonl", kMetrics);
  }
  // No final newline: a hand-written file still has its last row.
  write_text(tune / "leaderboard.csv",
             "rank,trial,status,metric,epochs,seconds,run,lr\n1,2,finished,0.9,3,10,trial-2,0.001\n"
             "2,1,finished,0.8,3,11,trial-1,0.01\n3,3,failed,,0,1,trial-3,0.1");
  RunRecord run = read_run_folder(tune);
  ASSERT_TRUE(run.leaderboard);
  EXPECT_EQ(run.leaderboard->rows.size(), 3u);
  EXPECT_EQ(run.leaderboard->rows[2][3], "");
  EXPECT_EQ(run.tune_folder, tune);
  EXPECT_EQ(run.folder, tune / "trial-2");  // no best link: the first row
  EXPECT_EQ(run.warnings.size(), 2u);       // that, and the torn metrics line

  fs::create_directory_symlink("trial-1", tune / "best");  // the link wins over the order
  run = read_run_folder(tune);
  EXPECT_EQ(run.folder, fs::canonical(tune / "trial-1"));
  EXPECT_EQ(run.leaderboard->best_row, 1u);
}

TEST(RunRecord, RefusesALeaderboardWithoutItsColumns) {
  TempDir dir;
  write_text(dir / "leaderboard.csv", "trial,metric\n1,0.5\n");
  EXPECT_THROW(read_run_folder(dir.path()), satx::Error);
}

TEST(ReadPredictionsCsv, AccumulatesTheMetricsAndKeepsTheGalleryOrder) {
  TempDir dir;
  const std::vector<std::string> classes = {"b", "a"};
  write_text(dir / "p.csv",
             "path,true_label,predicted_label,score,b,a\n"
             "t1.png,b,b,0.9,0.9,0.1\n"
             "\"t,2.png\",b,a,0.7,0.3,0.7\n"
             "t3.png,a,a,0.6,0.4,0.6\n"
             "t4.png,a,b,0.95,0.95,0.05\n"
             "t5.png,a,a,0.55,0.45,0.55\n");
  const ReportEvaluation ev = read_predictions_csv(dir / "p.csv", classes, 0.5, 1);
  EXPECT_EQ(ev.report.samples, 5);
  EXPECT_DOUBLE_EQ(ev.report.accuracy, 0.6);
  EXPECT_EQ(ev.report.confusion, (std::vector<std::vector<int64_t>>{{1, 1}, {1, 2}}));
  ASSERT_TRUE(ev.report.binary);
  ASSERT_TRUE(ev.report.threshold);
  EXPECT_DOUBLE_EQ(*ev.report.threshold, 0.5);
  EXPECT_EQ(ev.positive_scores.size(), 5u);
  ASSERT_EQ(ev.errors.size(), 1u);
  EXPECT_EQ(ev.errors[0].path, "t4.png");  // the most confident error
  EXPECT_FLOAT_EQ(ev.errors[0].truth_score, 0.05f);
  ASSERT_EQ(ev.least_confident.size(), 1u);
  EXPECT_EQ(ev.least_confident[0].path, "t5.png");

  write_text(dir / "other.csv", "path,true_label,predicted_label,score,a,b\n");
  EXPECT_THROW(read_predictions_csv(dir / "other.csv", classes, std::nullopt, 1), satx::Error);  // class order
  write_text(dir / "bad.csv", "path,true_label,predicted_label,score,b,a\nt.png,b,c,0.5,0.5,0.5\n");
  EXPECT_THROW(read_predictions_csv(dir / "bad.csv", classes, std::nullopt, 1), satx::Error);  // unknown class
}

TEST(HtmlHelpers, EscapeAndBase64MatchTheirStandards) {
  using namespace satx::eval::detail;
  EXPECT_EQ(escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  const std::string text = "foobar";
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  EXPECT_EQ(base64(bytes, 0), "");
  EXPECT_EQ(base64(bytes, 1), "Zg==");
  EXPECT_EQ(base64(bytes, 2), "Zm8=");
  EXPECT_EQ(base64(bytes, 3), "Zm9v");
  EXPECT_EQ(base64(bytes, 6), "Zm9vYmFy");
  EXPECT_EQ(duration(75), "1 min 15 s");
  EXPECT_EQ(percent(0.9734), "97.3%");
  EXPECT_EQ(fixed(std::nan("")), "n/a");
}

TEST(SvgPlot, ThinsEvenlyKeepingBothEnds) {
  using satx::eval::detail::thin_indices;
  EXPECT_EQ(thin_indices(5, 10), (std::vector<size_t>{0, 1, 2, 3, 4}));
  const auto kept = thin_indices(10000, 400);
  EXPECT_EQ(kept.size(), 400u);
  EXPECT_EQ(kept.front(), 0u);
  EXPECT_EQ(kept.back(), 9999u);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  EXPECT_TRUE(thin_indices(0, 10).empty());
}

TEST(SvgPlot, DrawsNoDataWithoutFinitePoints) {
  satx::eval::detail::Plot plot;
  plot.title = "empty <plot>";
  plot.series.push_back({"s", "#000", {1, 2}, {std::nan(""), std::nan("")}});
  const std::string svg = satx::eval::detail::render_svg(plot);
  EXPECT_NE(svg.find("no data"), std::string::npos);
  EXPECT_NE(svg.find("empty &lt;plot&gt;"), std::string::npos);
}
