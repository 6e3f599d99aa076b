#pragma once
/// `satx serve`'s counters, written in Prometheus' text exposition format (version 0.0.4) for
/// `GET /metrics`.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace satx::serve {

/// A cumulative histogram with fixed upper bounds (+Inf implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double value);
  /// `name`_bucket{le=...}, `name`_sum and `name`_count lines.
  std::string text(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; the last is above every bound
  double sum_ = 0;
  uint64_t count_ = 0;
};

/// Everything `/metrics` reports; thread-safe.
class ServerMetrics {
 public:
  ServerMetrics();
  /// One answered request: its route ("/v1/predict", ..., "other"), status and seconds.
  void request(const std::string& route, int status, double seconds);
  void batch(size_t tiles);
  void images(size_t count);
  void reload(bool ok);
  /// The exposition text; `queue_depth` and the model's version are read by the caller.
  std::string text(size_t queue_depth, const std::string& model_version, const std::string& model_path) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  Histogram latency_;
  Histogram batch_size_;
  uint64_t images_ = 0;
  uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
};

/// A label value escaped as the exposition format wants (backslash, quote, newline).
std::string escape_label(const std::string& value);

}  // namespace satx::serve
