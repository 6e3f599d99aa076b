#pragma once
/// Helpers shared by the satx test binaries.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace satx::testing {

/// ../shared beside the checkout, when it exists (it does not in a user's fresh clone).
std::optional<std::filesystem::path> shared_dir();

/// A fresh, empty temporary directory removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Result of running the satx binary.
struct RunResult {
  int exit_code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs the built satx binary with `args` (a shell-quoted string), capturing stdout/stderr.
RunResult run_satx(const std::string& args, const std::string& stdin_text = "");

/// Runs a shell command, capturing stdout/stderr.
RunResult run_shell(const std::string& command);

/// Reads a whole file.
std::string read_text(const std::filesystem::path& path);

/// The JSON lines of a run directory's metrics.jsonl, in order.
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& run_dir);

/// Writes a whole file.
void write_text(const std::filesystem::path& path, const std::string& text);

/// Writes a tiny synthetic folder-per-class dataset of PNG tiles: `per_class` tiles of
/// `size`x`size` for each class, each class a distinct colour pattern, so models can learn it.
void make_tiny_dataset(const std::filesystem::path& root, const std::vector<std::string>& classes,
                       int per_class, int size, unsigned seed = 1);

}  // namespace satx::testing

/// Skips the test when ../shared is absent, binding its path to `var`.
#define SATX_REQUIRE_SHARED(var)                                         \
  auto var##_opt = ::satx::testing::shared_dir();                        \
  if (!var##_opt) GTEST_SKIP() << "../shared is absent (fresh clone)";   \
  const std::filesystem::path var = *var##_opt
