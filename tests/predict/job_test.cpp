// run_predict_job at library level: one row per input, positive_only, option errors, resume, fresh runs.
#include <sys/stat.h>

#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/infer/engine.hpp"
#include "satx/io/prediction_reader.hpp"
#include "satx/models/model_file.hpp"
#include "satx/predict/job.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

namespace fs = std::filesystem;
using satx::io::OutputFormat;
using satx::predict::PredictJobOptions;
using satx::predict::PredictSummary;
using satx::testing::read_text;
using satx::testing::TempDir;
using satx::testing::write_text;

namespace {

const std::vector<std::string> kBinary = {"clear", "cloud"};  // "cloud" is the positive class

struct Models {
  TempDir dir;
  fs::path binary = dir / "binary.safetensors";
  fs::path three = dir / "three.safetensors";
  std::vector<std::string> tiles;  // the binary model's 12 tiles, 6 a class, clear first
  Models() {
    satx::testing::write_tiny_model(binary, dir / "data", kBinary, 6, 32, /*fit_head=*/true);
    satx::testing::write_tiny_model(three, dir / "data3", {"a", "b", "c"}, 1, 32, /*fit_head=*/false);
    tiles = satx::testing::tiny_tile_paths(dir / "data", kBinary, 6);
  }
};

Models& models() {
  static Models shared;
  return shared;
}

satx::Context context() { return satx::testing::cpu_context(9); }

satx::infer::InferenceEngine engine(const fs::path& model) { return satx::testing::cpu_engine(model); }

PredictJobOptions options_for(const fs::path& output) {
  PredictJobOptions options;
  options.output = output;
  options.flush_every = 4;  // checkpoints inside batches
  options.scorer.batch_size = 5;
  return options;
}

PredictSummary run(const fs::path& model, const std::vector<std::string>& inputs, const PredictJobOptions& options,
                   std::vector<satx::predict::PredictProgress>* progress = nullptr) {
  auto e = engine(model);
  return satx::predict::run_predict_job(e, inputs, options, context(), [&](const satx::predict::PredictProgress& p) {
    if (progress) progress->push_back(p);
  });
}

// (path, label) of every complete record, in file order.
std::vector<std::pair<std::string, std::string>> rows_of(const fs::path& file, OutputFormat format) {
  std::vector<std::pair<std::string, std::string>> rows;
  satx::io::scan_output(file, format, [&](satx::io::StoredRecord&& r) { rows.emplace_back(r.path, r.label); });
  return rows;
}

std::vector<std::string> error_paths(const fs::path& log) {
  std::vector<std::string> paths;
  satx::io::scan_error_log(log, [&](satx::io::ErrorEntry&& e) { paths.push_back(e.path); });
  return paths;
}

std::string class_of(const std::string& path) { return fs::path(path).parent_path().filename().string(); }

}  // namespace

TEST(RunPredictJob, WritesExactlyOneRowPerUniqueInputInEveryFormat) {
  TempDir dir;
  write_text(dir / "garbage.png", "not an image");
  const std::string garbage = (dir / "garbage.png").string();
  const std::string missing = (dir / "missing.png").string();
  const auto& tiles = models().tiles;
  std::vector<std::string> inputs = tiles;
  inputs.insert(inputs.begin() + 3, garbage);
  inputs.push_back(tiles[0]);  // duplicates are scored once
  inputs.push_back(tiles[7]);
  inputs.push_back(missing);
  for (const auto& [extension, format] : {std::pair{"csv", OutputFormat::Csv}, std::pair{"jsonl", OutputFormat::Jsonl},
                                          std::pair{"geojson", OutputFormat::GeoJson}}) {
    const fs::path output = dir / (std::string("out.") + extension);
    std::vector<satx::predict::PredictProgress> progress;
    const PredictSummary s = run(models().binary, inputs, options_for(output), &progress);
    EXPECT_EQ(s.format, format) << extension;
    EXPECT_EQ(s.inputs, 14);
    EXPECT_EQ(s.in_shard, 14);
    EXPECT_EQ(s.already_done, 0);
    EXPECT_EQ(s.scored, 12);
    EXPECT_EQ(s.written, 12);
    EXPECT_EQ(s.failed, 2);
    EXPECT_EQ(s.positives, 6);  // the head separates the classes
    EXPECT_EQ(s.error_log, satx::io::error_log_path(output));
    const auto rows = rows_of(output, format);
    std::vector<std::string> paths;
    for (const auto& [path, label] : rows) {
      paths.push_back(path);
      EXPECT_EQ(label, class_of(path)) << extension << " " << path;
    }
    EXPECT_EQ(paths, tiles) << extension;  // input order, each once
    EXPECT_EQ(error_paths(s.error_log), (std::vector<std::string>{garbage, missing})) << extension;
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back().done, 14);
    EXPECT_EQ(progress.back().total, 14);
    EXPECT_EQ(progress.back().failed, 2);
  }
}

TEST(RunPredictJob, PositiveOnlyWritesOnlyTilesDecidedPositive) {
  TempDir dir;
  const auto& tiles = models().tiles;
  const PredictSummary all = run(models().binary, tiles, options_for(dir / "all.csv"));
  std::set<std::string> positive;
  for (const auto& [path, label] : rows_of(dir / "all.csv", OutputFormat::Csv))
    if (label == "cloud") positive.insert(path);
  ASSERT_EQ(static_cast<int64_t>(positive.size()), all.positives);
  ASSERT_FALSE(positive.empty());
  ASSERT_LT(positive.size(), tiles.size());

  PredictJobOptions options = options_for(dir / "positives.csv");
  options.positive_only = true;
  const PredictSummary s = run(models().binary, tiles, options);
  EXPECT_EQ(s.scored, 12);
  EXPECT_EQ(s.positives, all.positives);
  EXPECT_EQ(s.written, s.positives);
  std::set<std::string> written;
  for (const auto& [path, label] : rows_of(dir / "positives.csv", OutputFormat::Csv)) {
    EXPECT_EQ(label, "cloud") << path;
    EXPECT_TRUE(written.insert(path).second) << "duplicate " << path;
  }
  EXPECT_EQ(written, positive);

  // A threshold of 0 decides every tile positive, so every tile is written.
  options.output = dir / "threshold0.csv";
  options.threshold = 0.0;
  const PredictSummary t = run(models().binary, tiles, options);
  ASSERT_TRUE(t.threshold);
  EXPECT_DOUBLE_EQ(*t.threshold, 0.0);
  EXPECT_EQ(t.written, 12);
  EXPECT_EQ(rows_of(dir / "threshold0.csv", OutputFormat::Csv).size(), 12u);
}

TEST(RunPredictJob, OptionErrorsAreUsageNamingTheFieldAndLeaveTheOutputAlone) {
  TempDir dir;
  const fs::path output = dir / "kept.csv";
  write_text(output, "previous output\n");
  struct Case {
    const char* name;
    bool three_classes;
    std::function<void(PredictJobOptions&)> set;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"negative topk", false, [](PredictJobOptions& o) { o.topk = -1; }, "topk"},
      {"flush_every 0", false, [](PredictJobOptions& o) { o.flush_every = 0; }, "flush_every"},
      {"negative flush_every", false, [](PredictJobOptions& o) { o.flush_every = -3; }, "flush_every"},
      {"positive_only, 3 classes", true, [](PredictJobOptions& o) { o.positive_only = true; }, "positive_only"},
      {"threshold, 3 classes", true, [](PredictJobOptions& o) { o.threshold = 0.5; }, "threshold"},
      {"threshold above 1", false, [](PredictJobOptions& o) { o.threshold = 1.5; }, "threshold"},
      {"resume to stdout", false, [](PredictJobOptions& o) { o.resume = true; o.output = "-"; }, "resume"},
  };
  for (const auto& c : cases) {
    PredictJobOptions options = options_for(output);
    c.set(options);
    try {
      run(c.three_classes ? models().three : models().binary, models().tiles, options);
      ADD_FAILURE() << c.name << ": expected a Usage error";
    } catch (const satx::Error& e) {
      EXPECT_EQ(e.code(), satx::ErrorCode::Usage) << c.name;
      EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
    }
    EXPECT_EQ(read_text(output), "previous output\n") << c.name;
    EXPECT_FALSE(fs::exists(satx::io::error_log_path(output))) << c.name;
  }
}

TEST(RunPredictJob, ResumingAFinishedOutputScoresNothingNew) {
  TempDir dir;
  write_text(dir / "garbage.png", "not an image");
  std::vector<std::string> inputs = models().tiles;
  inputs.push_back((dir / "garbage.png").string());
  const fs::path output = dir / "out.csv";
  const PredictSummary first = run(models().binary, inputs, options_for(output));
  ASSERT_EQ(first.scored, 12);
  ASSERT_EQ(first.failed, 1);
  const std::string rows_before = read_text(output);
  const std::string errors_before = read_text(first.error_log);

  PredictJobOptions options = options_for(output);
  options.resume = true;
  std::vector<satx::predict::PredictProgress> progress;
  const PredictSummary again = run(models().binary, inputs, options, &progress);
  EXPECT_EQ(again.inputs, 13);
  EXPECT_EQ(again.in_shard, 13);
  EXPECT_EQ(again.already_done, 13);  // 12 rows and the unreadable tile in the error log
  EXPECT_EQ(again.scored, 0);
  EXPECT_EQ(again.written, 0);
  EXPECT_EQ(again.failed, 0);
  EXPECT_EQ(read_text(output), rows_before);
  EXPECT_EQ(read_text(first.error_log), errors_before);
  for (const auto& p : progress) EXPECT_EQ(p.total, 0);
}

TEST(RunPredictJob, ResumingAPartialOutputScoresOnlyTheRest) {
  TempDir dir;
  const auto& tiles = models().tiles;
  const fs::path output = dir / "out.jsonl";
  const std::vector<std::string> first_five(tiles.begin(), tiles.begin() + 5);
  ASSERT_EQ(run(models().binary, first_five, options_for(output)).scored, 5);
  const std::string head = read_text(output);

  PredictJobOptions options = options_for(output);
  options.resume = true;
  const PredictSummary s = run(models().binary, tiles, options);
  EXPECT_EQ(s.already_done, 5);
  EXPECT_EQ(s.scored, 7);
  EXPECT_EQ(s.written, 7);
  EXPECT_EQ(read_text(output).substr(0, head.size()), head);  // kept rows stay as they were
  std::vector<std::string> paths;
  for (const auto& [path, label] : rows_of(output, OutputFormat::Jsonl)) paths.push_back(path);
  EXPECT_EQ(paths, tiles);
}

TEST(RunPredictJob, FreshRunReplacesAnOldOutputAndItsStaleErrorLog) {
  TempDir dir;
  const fs::path output = dir / "out.csv";
  write_text(output, "path,label,score,clear,cloud\nold/tile.png,clear,0.9,0.9,0.1\n");
  write_text(satx::io::error_log_path(output), "old/bad.png\tunreadable\n");
  const PredictSummary s = run(models().binary, models().tiles, options_for(output));
  EXPECT_EQ(s.failed, 0);
  const auto rows = rows_of(output, OutputFormat::Csv);
  ASSERT_EQ(rows.size(), models().tiles.size());
  for (const auto& [path, label] : rows) EXPECT_NE(path, "old/tile.png");
  EXPECT_TRUE(error_paths(s.error_log).empty());
}

// A folder or a FIFO in an input list is one failed input with its reason in .errors, never an
// abort (a folder once raised bad_alloc, and every -resume died at the same line) or a hang.
TEST(RunPredictJob, ListsAFolderAndAFifoAsFailedInputsAndFinishes) {
  TempDir dir;
  fs::create_directories(dir / "folder.jpg");
  const fs::path fifo = dir / "pipe.jpg";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto& tiles = models().tiles;
  const std::vector<std::string> inputs = {tiles[0], (dir / "folder.jpg").string(), fifo.string(), tiles[11]};
  const fs::path output = dir / "out.csv";
  const PredictSummary s = run(models().binary, inputs, options_for(output));
  EXPECT_EQ(s.scored, 2);
  EXPECT_EQ(s.failed, 2);
  EXPECT_EQ(error_paths(s.error_log), (std::vector<std::string>{(dir / "folder.jpg").string(), fifo.string()}));
  const std::string log = read_text(s.error_log);
  EXPECT_NE(log.find("a folder, not an image file"), std::string::npos) << log;
  EXPECT_NE(log.find("FIFO"), std::string::npos) << log;
  // Resuming finds nothing left to do instead of dying on the same line again.
  PredictJobOptions again = options_for(output);
  again.resume = true;
  const PredictSummary r = run(models().binary, inputs, again);
  EXPECT_EQ(r.scored, 0);
}

// .errors keeps a name byte for byte while JSONL replaces invalid UTF-8; resuming must not list
// an unreadable tile with such a name once more on every run.
TEST(RunPredictJob, ResumingJsonlDoesNotRelistAnUnreadableTileWithANonUtf8Name) {
  TempDir dir;
  const std::string odd = (dir / "bad\xff\xfe.png").string();
  write_text(odd, "not an image");
  const std::vector<std::string> inputs = {models().tiles[0], odd};
  const fs::path output = dir / "out.jsonl";
  run(models().binary, inputs, options_for(output));
  PredictJobOptions again = options_for(output);
  again.resume = true;
  for (int i = 0; i < 2; ++i) {
    const PredictSummary r = run(models().binary, inputs, again);
    EXPECT_EQ(r.scored + r.failed, 0) << "resume " << i;
  }
  EXPECT_EQ(error_paths(satx::io::error_log_path(output)), (std::vector<std::string>{odd}));
}
