// Bad input and a hostile environment, as a user meets them on the command line: each case
// exits with its code, names the file or value at fault, and leaves existing files alone.
#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "satx/core/files.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

using namespace satx::testing;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  TempDir dir;
  fs::path model = dir / "tiny.safetensors";
  fs::path data = dir / "data";
  Fixture() { write_tiny_model(model, data, {"clear", "cloud"}, 4, 32, /*fit_head=*/true); }
};

Fixture& fixture() {
  static Fixture shared;
  return shared;
}

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

std::string predict(const fs::path& output, const std::string& extra = "") {
  return "predict -q -model=" + q(fixture().model) + " -input=" + q(fixture().data) + " -output=" + q(output) + " " + extra;
}

#define EXPECT_MENTIONS(result, text) \
  EXPECT_NE((result).err.find(text), std::string::npos) << "stderr: " << (result).err << "\nstdout: " << (result).out

}  // namespace

TEST(BadInput, ResumeRefusesAJsonlFileSatxDidNotWriteAndLeavesIt) {
  TempDir dir;
  const std::string notes = "{\"a\":1}\n{\"a\":2}\n";
  write_text(dir / "notes.jsonl", notes);
  RunResult r = run_satx(predict(dir / "notes.jsonl", "-resume"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_MENTIONS(r, (dir / "notes.jsonl").string());
  EXPECT_MENTIONS(r, "not a satx jsonl prediction output");
  EXPECT_EQ(read_text(dir / "notes.jsonl"), notes);
}

TEST(BadInput, ResumeAsJsonlRefusesASatxCsvAndLeavesIt) {
  TempDir dir;
  ASSERT_EQ(run_satx(predict(dir / "p.csv")).exit_code, 0);
  const std::string before = read_text(dir / "p.csv");
  RunResult r = run_satx(predict(dir / "p.csv", "-resume -format=jsonl"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_MENTIONS(r, (dir / "p.csv").string());
  EXPECT_EQ(read_text(dir / "p.csv"), before);
}

TEST(BadInput, ResumeRefusesAJsonlOutputOfAnotherModelsClasses) {
  TempDir dir;
  const std::string other = "{\"path\":\"x.png\",\"label\":\"a\",\"score\":0.9,\"probabilities\":{\"a\":0.9,\"b\":0.1}}\n";
  write_text(dir / "p.jsonl", other);
  RunResult r = run_satx(predict(dir / "p.jsonl", "-resume"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_MENTIONS(r, "other scores than this run's");
  EXPECT_EQ(read_text(dir / "p.jsonl"), other);
}

TEST(BadInput, ASecondWriterOfTheSameOutputStopsBeforeTouchingIt) {
  TempDir dir;
  const fs::path output = dir / "p.csv";
  write_text(output, "path,label,score,clear,cloud\n");
  // This process stands in for the first satx: it holds the output's lock.
  const int fd = ::open(output.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  RunResult r = run_satx(predict(output));
  ::close(fd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_MENTIONS(r, output.string());
  EXPECT_MENTIONS(r, "in use by another satx process");
  EXPECT_EQ(read_text(output), "path,label,score,clear,cloud\n");
  // Once the first writer is gone the same command runs.
  EXPECT_EQ(run_satx(predict(output)).exit_code, 0);
}

TEST(BadInput, TrainingThatWouldTakeNoStepStopsBeforeAnyFolderExists) {
  TempDir dir;
  make_tiny_dataset(dir / "train", {"a", "b"}, 30, 32, 1);
  make_tiny_dataset(dir / "valid", {"a", "b"}, 2, 32, 2);
  RunResult r = run_satx("train -q -weights=none -epochs=1 -input-size=32 -train=" + q(dir / "train") + " -valid=" +
                         q(dir / "valid") + " -out=" + q(dir / "run"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_MENTIONS(r, "-batch=64 is more than the 60 training tiles");
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(BadInput, TrainingOnOnlyUnreadableTilesFailsNamingOne) {
  TempDir dir;
  make_tiny_dataset(dir / "valid", {"a", "b"}, 2, 32, 2);
  for (const char* name : {"a", "b"})
    for (int i = 0; i < 3; ++i) write_text(dir / "train" / name / ("t" + std::to_string(i) + ".png"), "not a png");
  RunResult r = run_satx("train -q -weights=none -epochs=1 -batch=2 -input-size=32 -train=" + q(dir / "train") +
                         " -valid=" + q(dir / "valid") + " -out=" + q(dir / "run"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_MENTIONS(r, "none of the 6 training tiles could be read");
  EXPECT_MENTIONS(r, (dir / "train").string());
  EXPECT_FALSE(fs::exists(dir / "run"));  // found before the run folder is made
}

TEST(BadInput, InChannelsThatNoTileHasIsNamedBeforeTraining) {
  TempDir dir;
  make_tiny_dataset(dir / "train", {"a", "b"}, 3, 32, 1);
  make_tiny_dataset(dir / "valid", {"a", "b"}, 2, 32, 2);
  RunResult r = run_satx("train -q -weights=none -epochs=1 -batch=2 -input-size=32 -in-channels=4 -train=" +
                         q(dir / "train") + " -valid=" + q(dir / "valid") + " -out=" + q(dir / "run"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_MENTIONS(r, "could be read as 4-channel images");
  EXPECT_MENTIONS(r, "check -in-channels");
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(BadInput, EvalWithNoReadableTileFailsInsteadOfReportingZero) {
  TempDir dir;
  for (const char* name : {"clear", "cloud"}) write_text(dir / "data" / name / "x.png", "not a png");
  RunResult r = run_satx("eval -q -model=" + q(fixture().model) + " -data=" + q(dir / "data"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_MENTIONS(r, "none of the 2 tiles could be read");
  EXPECT_MENTIONS(r, (dir / "data").string());
}

TEST(BadInput, TrainRefusesAnOutFolderOfOtherFilesUnlessForced) {
  TempDir dir;
  make_tiny_dataset(dir / "train", {"a", "b"}, 4, 32, 1);
  make_tiny_dataset(dir / "valid", {"a", "b"}, 2, 32, 2);
  write_text(dir / "mine/config.json", "{\"my\": \"settings\"}\n");
  const std::string command = "train -q -weights=none -epochs=1 -batch=4 -input-size=32 -train=" + q(dir / "train") +
                              " -valid=" + q(dir / "valid") + " -out=" + q(dir / "mine");
  RunResult r = run_satx(command);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_MENTIONS(r, "-out '" + (dir / "mine").string() + "' already holds files that are not a satx run's (config.json)");
  EXPECT_EQ(read_text(dir / "mine/config.json"), "{\"my\": \"settings\"}\n");
  EXPECT_FALSE(fs::exists(dir / "mine/best.safetensors"));
  RunResult forced = run_satx(command + " -force");
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(fs::exists(dir / "mine/best.safetensors"));
}

TEST(BadInput, ChooseThresholdRefusesAReadOnlyModelBeforeEvaluating) {
  TempDir dir;
  fs::copy_file(fixture().model, dir / "m.safetensors");
  fs::permissions(dir / "m.safetensors", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string before = read_text(dir / "m.safetensors");
  RunResult r = run_satx("eval -q -model=" + q(dir / "m.safetensors") + " -data=" + q(fixture().data) + " -choose-threshold=f1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_MENTIONS(r, (dir / "m.safetensors").string() + ", which is read-only");
  EXPECT_EQ(read_text(dir / "m.safetensors"), before);
  EXPECT_TRUE(satx::is_read_only(dir / "m.safetensors"));
}

TEST(BadInput, OutOfRangeNumbersAreRefusedNamingTheFlagAndValue) {
  TempDir dir;
  RunResult gate = run_satx("eval -q -model=" + q(fixture().model) + " -data=" + q(fixture().data) + " -fail-under accuracy=5");
  EXPECT_EQ(gate.exit_code, 2);
  EXPECT_MENTIONS(gate, "accuracy=5");
  EXPECT_MENTIONS(gate, "outside [0, 1]");
  RunResult threads = run_satx(predict(dir / "p.csv", "-decode-threads=100000"));
  EXPECT_EQ(threads.exit_code, 2);
  EXPECT_MENTIONS(threads, "-decode-threads must be in [0, 256] (0 = automatic), got 100000");
  EXPECT_FALSE(fs::exists(dir / "p.csv"));
  RunResult lr = run_satx("train -lr=inf -train=" + q(fixture().data) + " -valid=" + q(fixture().data));
  EXPECT_EQ(lr.exit_code, 2);
  EXPECT_MENTIONS(lr, "-lr must be in (0, 10], got inf");
  RunResult size = run_satx("train -input-size=3 -train=" + q(fixture().data) + " -valid=" + q(fixture().data));
  EXPECT_EQ(size.exit_code, 2);
  EXPECT_MENTIONS(size, "-input-size");
  EXPECT_MENTIONS(size, "got 3");
}

TEST(BadInput, AFolderAndAFifoInAPredictListAreListedAsUnreadable) {
  TempDir dir;
  fs::create_directories(dir / "folder.png");
  ASSERT_EQ(::mkfifo((dir / "pipe.png").c_str(), 0600), 0);
  const std::string tile = (fixture().data / "clear/clear_0000.png").string();
  write_text(dir / "list.txt", tile + "\n" + (dir / "folder.png").string() + "\n" + (dir / "pipe.png").string() + "\n");
  RunResult r = run_satx("predict -q -model=" + q(fixture().model) + " -input=" + q(dir / "list.txt") + " -output=" +
                         q(dir / "p.csv"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string errors = read_text(dir / "p.csv.errors");
  EXPECT_NE(errors.find((dir / "folder.png").string() + "\ta folder, not an image file"), std::string::npos) << errors;
  EXPECT_NE(errors.find((dir / "pipe.png").string() + "\ta FIFO"), std::string::npos) << errors;
  EXPECT_NE(read_text(dir / "p.csv").find(tile), std::string::npos);
}

TEST(BadInput, PredictOnAFolderListsDanglingAndLoopingLinksInsteadOfDroppingThem) {
  TempDir dir;
  fs::create_directories(dir / "tiles");
  fs::copy_file(fixture().data / "clear/clear_0000.png", dir / "tiles/good.png");
  fs::create_symlink(dir / "nowhere.png", dir / "tiles/dangling.png");
  fs::create_symlink(dir / "tiles/loop_b.png", dir / "tiles/loop_a.png");
  fs::create_symlink(dir / "tiles/loop_a.png", dir / "tiles/loop_b.png");
  RunResult r = run_satx("predict -q -model=" + q(fixture().model) + " -input=" + q(dir / "tiles") + " -output=" +
                         q(dir / "p.csv"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string errors = read_text(dir / "p.csv.errors");
  for (const char* name : {"dangling.png", "loop_a.png", "loop_b.png"})
    EXPECT_NE(errors.find((dir / "tiles" / name).string() + "\tcannot open"), std::string::npos) << name << "\n" << errors;
  EXPECT_NE(read_text(dir / "p.csv").find("good.png"), std::string::npos);
}

TEST(BadInput, ASetWithImagesOfOneClassIsRefusedBeforeTraining) {
  TempDir dir;
  make_tiny_dataset(dir / "train", {"a"}, 4, 32, 1);
  fs::create_directories(dir / "train/b");
  make_tiny_dataset(dir / "valid", {"a", "b"}, 2, 32, 2);
  RunResult r = run_satx("train -q -weights=none -epochs=1 -batch=2 -input-size=32 -train=" + q(dir / "train") +
                         " -valid=" + q(dir / "valid") + " -out=" + q(dir / "run"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_MENTIONS(r, (dir / "train").string() + " has images in only class 'a'");
  EXPECT_FALSE(fs::exists(dir / "run"));
}

// A subfolder satx may not list is reported, not skipped. Permissions do not bind root, so a
// root test run drops to 'nobody' with setpriv for the satx under test.
TEST(BadInput, AnUnlistableSubfolderIsReportedByDataCheckAndPredict) {
  std::string runner;
  if (::geteuid() == 0) {
    if (run_shell("command -v setpriv").exit_code != 0) GTEST_SKIP() << "running as root without setpriv";
    runner = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    if (run_shell(runner + "'" + SATX_BINARY + "' --version").exit_code != 0)
      GTEST_SKIP() << "'nobody' cannot run " << SATX_BINARY << " (a private build folder)";
  }
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::all);
  make_tiny_dataset(dir / "data", {"clear", "cloud"}, 2, 32, 3);
  fs::create_directories(dir / "data/cloud/locked");
  fs::copy_file(dir / "data/cloud/cloud_0000.png", dir / "data/cloud/locked/hidden_tile.png");
  fs::copy_file(fixture().model, dir / "m.safetensors");
  fs::create_directories(dir / "out");
  for (const auto& entry : fs::recursive_directory_iterator(dir.path()))
    fs::permissions(entry.path(), entry.is_directory() ? fs::perms::all : fs::perms::all & ~fs::perms::owner_exec &
                                                                                ~fs::perms::group_exec & ~fs::perms::others_exec);
  fs::permissions(dir / "data/cloud/locked", fs::perms::none);
  const std::string satx = runner + "'" + SATX_BINARY + "' ";
  const std::string locked = (dir / "data/cloud/locked").string();

  RunResult check = run_shell(satx + "data check -q -data=" + q(dir / "data"));
  EXPECT_EQ(check.exit_code, 3) << check.out << check.err;
  EXPECT_NE(check.out.find(locked + ": cannot open: Permission denied"), std::string::npos) << check.out << check.err;

  RunResult scored = run_shell(satx + "predict -q -model=" + q(dir / "m.safetensors") + " -input=" + q(dir / "data") +
                               " -output=" + q(dir / "out/p.csv"));
  fs::permissions(dir / "data/cloud/locked", fs::perms::all);  // so TempDir can remove it
  EXPECT_EQ(scored.exit_code, 0) << scored.err;
  EXPECT_NE(read_text(dir / "out/p.csv.errors").find(locked + "\tcannot open: Permission denied"), std::string::npos);
}

TEST(BadInput, AFolderAsThePredictOutputIsAUsageError) {
  TempDir dir;
  fs::create_directories(dir / "out.csv");
  RunResult r = run_satx(predict(dir / "out.csv"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_MENTIONS(r, "-output '" + (dir / "out.csv").string() + "' is a folder");
}

TEST(BadInput, AFifoInAClassFolderIsNamedByDataCheckAndEvalWithoutBlocking) {
  TempDir dir;
  make_tiny_dataset(dir / "data", {"clear", "cloud"}, 2, 32, 4);
  const fs::path fifo = dir / "data/cloud/pipe.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  RunResult check = run_satx("data check -q -data=" + q(dir / "data"));
  EXPECT_EQ(check.exit_code, 3);
  EXPECT_NE(check.out.find(fifo.string() + ": a FIFO (named pipe), not an image file"), std::string::npos) << check.out;
  RunResult scored = run_satx("eval -model=" + q(fixture().model) + " -data=" + q(dir / "data"));
  EXPECT_EQ(scored.exit_code, 0) << scored.err;
  EXPECT_MENTIONS(scored, fifo.string());
  EXPECT_MENTIONS(scored, "FIFO");
}
