#pragma once
// Progress on stderr: a Keras-style bar on a terminal, a plain line every N steps otherwise
// (CI logs), so long work always shows that it is moving.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace satx::cli {

/// Named values shown after the bar, e.g. {{"loss", 0.31}, {"acc", 0.87}}.
using Metrics = std::vector<std::pair<std::string, double>>;

/// Renders progress of `total` units of work (0 = unknown total).
class Progress {
 public:
  /// `unit` names one unit ("step", "tile"); `every` is the plain-line interval off a terminal;
  /// `silent` (-quiet) draws nothing.
  Progress(std::string label, int64_t total, std::string unit = "step", int64_t every = 50, bool silent = false);
  /// Reports that `done` units are finished.
  void update(int64_t done, const Metrics& metrics = {});
  /// Final line with the elapsed time; idempotent.
  void finish(const Metrics& metrics = {});
  /// Seconds since construction.
  double elapsed() const;

 private:
  std::string line(int64_t done, const Metrics& metrics, bool final) const;

  std::string label_;
  int64_t total_;
  std::string unit_;
  int64_t every_;
  bool terminal_;
  bool silent_;
  bool finished_ = false;
  int64_t done_ = 0;
  int64_t last_printed_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// "1h02m", "3m05s", "12s" for an ETA or elapsed time.
std::string format_duration(double seconds);

}  // namespace satx::cli
