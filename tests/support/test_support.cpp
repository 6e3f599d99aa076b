#include "support/test_support.hpp"

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;

namespace satx::testing {

std::optional<fs::path> shared_dir() {
  if (const char* env = std::getenv("SATX_SHARED")) {
    if (fs::is_directory(env)) return fs::path(env);
    return std::nullopt;
  }
  fs::path candidate = fs::path(SATX_SOURCE_DIR).parent_path() / "shared";
  if (fs::is_directory(candidate / "data") || fs::is_directory(candidate / "golden")) return candidate;
  return std::nullopt;
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "satx-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

RunResult run_shell(const std::string& command) {
  TempDir dir;
  std::string full = "( " + command + " ) >" + (dir / "out").string() + " 2>" + (dir / "err").string();
  RunResult result;
  int status = std::system(full.c_str());
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(dir / "out");
  result.err = read_text(dir / "err");
  return result;
}

RunResult run_satx(const std::string& args, const std::string& stdin_text) {
  TempDir dir;
  write_text(dir / "in", stdin_text);
  return run_shell(std::string("'") + SATX_BINARY + "' " + args + " <" + (dir / "in").string());
}

std::vector<nlohmann::json> read_metrics(const fs::path& run_dir) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_text(run_dir / "metrics.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

void make_tiny_dataset(const fs::path& root, const std::vector<std::string>& classes, int per_class,
                       int size, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-20, 20);
  for (size_t c = 0; c < classes.size(); ++c) {
    fs::create_directories(root / classes[c]);
    for (int i = 0; i < per_class; ++i) {
      cv::Mat tile(size, size, CV_8UC3);
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
          // Each class gets its own colour and stripe orientation, so a network can tell them apart.
          int stripe = ((c % 2 == 0 ? x : y) / 4) % 2;
          cv::Vec3b& px = tile.at<cv::Vec3b>(y, x);
          for (int k = 0; k < 3; ++k) {
            int base = static_cast<int>((37 * (c + 1) * (k + 1)) % 200) + 30 * stripe;
            px[k] = cv::saturate_cast<uchar>(base + noise(rng));
          }
        }
      char name[64];
      std::snprintf(name, sizeof name, "%s_%04d.png", classes[c].c_str(), i);
      cv::imwrite((root / classes[c] / name).string(), tile);
    }
  }
}

}  // namespace satx::testing
