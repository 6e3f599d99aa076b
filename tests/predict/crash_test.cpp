// Acceptance (scaled down): a predict run killed with SIGKILL and resumed scores every tile
// exactly once, with results equal to an uninterrupted run's, and lists every corrupt tile
// once. bench/predict_crash_test.sh runs the same at 20,000+ tiles.
#include <csignal>
#include <fcntl.h>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "satx/io/prediction_reader.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

using namespace satx::testing;
namespace fs = std::filesystem;

namespace {

constexpr int kTiles = 2400;
constexpr int kCorrupt = 20;

std::vector<std::string> write_tiles(const fs::path& root) {
  std::mt19937 rng(5);
  std::vector<std::string> corrupt;
  for (int i = 0; i < kTiles; ++i) {
    cv::Mat tile(32, 32, CV_8UC3);
    cv::randu(tile, cv::Scalar::all(0), cv::Scalar::all(255));
    const fs::path path = root / ("d" + std::to_string(i % 16)) / ("t" + std::to_string(i) + ".png");
    fs::create_directories(path.parent_path());
    cv::imwrite(path.string(), tile);
  }
  // Zero bytes, text with an image name, and truncated PNGs.
  for (int i = 0; i < kCorrupt; ++i) {
    const fs::path path = root / ("d" + std::to_string(i % 16)) / ("bad" + std::to_string(i) + ".png");
    if (i % 3 == 0) write_text(path, "");
    if (i % 3 == 1) write_text(path, "this is not an image");
    if (i % 3 == 2) {
      std::string png = read_text(root / "d0" / "t0.png");
      write_text(path, png.substr(0, png.size() / 3));
    }
    corrupt.push_back(path.string());
  }
  return corrupt;
}

// Starts satx with `args`, output to /dev/null; returns the pid.
pid_t spawn_satx(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(SATX_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(SATX_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

int64_t count_lines(const fs::path& file) {
  std::string text = read_text(file);
  return std::count(text.begin(), text.end(), '\n');
}

// Kills a run once its output holds `rows` lines; returns false if it finished first.
bool kill_after(const std::vector<std::string>& args, const fs::path& output, int64_t rows) {
  pid_t pid = spawn_satx(args);
  int status = 0;
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    if (fs::exists(output) && count_lines(output) >= rows) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status);
}

std::map<std::string, std::string> rows_by_path(const fs::path& csv) {
  std::map<std::string, std::string> rows;
  satx::io::scan_output(csv, satx::io::OutputFormat::Csv, [&](satx::io::StoredRecord&& r) {
    EXPECT_TRUE(rows.emplace(r.path, r.text).second) << "duplicate row for " << r.path;
  });
  return rows;
}

}  // namespace

TEST(PredictCrash, KilledAndResumedRunsScoreEveryTileExactlyOnce) {
  TempDir dir;
  const fs::path tiles = dir / "tiles";
  const std::vector<std::string> corrupt = write_tiles(tiles);
  const fs::path model = dir / "m.safetensors";
  write_tiny_model(model, dir / "unused", {"a", "b", "c"}, 1, 32, false);

  auto args = [&](const fs::path& output) {
    return std::vector<std::string>{"predict", "-model=" + model.string(), "-input=" + tiles.string(),
                                    "-output=" + output.string(), "-flush-every=50", "-batch=32", "-threads=2"};
  };
  RunResult reference = run_satx("predict -model='" + model.string() + "' -input='" + tiles.string() + "' -output='" +
                                 (dir / "ref.csv").string() + "' -threads=2");
  ASSERT_EQ(reference.exit_code, 0) << reference.err;

  const fs::path output = dir / "run.csv";
  // Two kills, a third and two thirds of the way, each followed by a resume.
  ASSERT_TRUE(kill_after(args(output), output, kTiles / 3)) << "the run finished before it could be killed";
  auto resumed = args(output);
  resumed.push_back("-resume");
  ASSERT_TRUE(kill_after(resumed, output, 2 * kTiles / 3)) << "the resumed run finished before it could be killed";
  const int64_t before_last = count_lines(output);
  EXPECT_LT(before_last, kTiles);
  std::string command = "'" + std::string(SATX_BINARY) + "'";
  for (const auto& a : resumed) command += " '" + a + "'";
  RunResult finish = run_shell(command);
  ASSERT_EQ(finish.exit_code, 0) << finish.err;

  const auto expected = rows_by_path(dir / "ref.csv");
  const auto actual = rows_by_path(output);
  ASSERT_EQ(expected.size(), static_cast<size_t>(kTiles));
  ASSERT_EQ(actual.size(), expected.size());
  size_t different = 0;
  for (const auto& [path, text] : expected) {
    auto it = actual.find(path);
    ASSERT_NE(it, actual.end()) << path << " missing";
    different += it->second != text;
  }
  EXPECT_EQ(different, 0u) << "rows differ from the uninterrupted run's";
  // Every line of the file is a complete record: the scan consumed it all.
  satx::io::OutputScan scan = satx::io::scan_output(output, satx::io::OutputFormat::Csv, {});
  EXPECT_EQ(scan.valid_bytes, scan.file_bytes);

  std::multiset<std::string> listed;
  satx::io::scan_error_log(satx::io::error_log_path(output),
                                [&](satx::io::ErrorEntry&& e) { listed.insert(e.path); });
  EXPECT_EQ(listed, std::multiset<std::string>(corrupt.begin(), corrupt.end()));
}
