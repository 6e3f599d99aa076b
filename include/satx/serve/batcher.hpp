#pragma once
/// Dynamic batching for `satx serve`: tiles from concurrent requests wait in one bounded queue
/// until `max_batch` of them are there or the oldest has waited `max_wait_ms`, then run through
/// the network as one batch on the batcher's thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "satx/serve/model_slot.hpp"

namespace satx::serve {

/// How requests are batched.
struct BatcherOptions {
  int max_batch = 32;     ///< tiles per forward pass at most
  int max_wait_ms = 5;    ///< how long the first tile of a batch waits for others
  int max_queue = 256;    ///< tiles waiting at most; a request that does not fit is refused (503)
};

/// Usage errors naming the field for values outside their ranges.
void check_batcher_options(const BatcherOptions& options);

/// One tile to score with the model it was decoded for.
struct BatchJob {
  std::shared_ptr<const ServedModel> model;
  torch::Tensor tile;                       ///< uint8 [C, H, W]
  std::promise<torch::Tensor> probabilities;  ///< float32 [classes], or the forward pass's exception
  std::chrono::steady_clock::time_point queued;
};

/// The queue and the thread that empties it.
class Batcher {
 public:
  /// `on_batch` (optional) hears the size of every batch run, for metrics.
  explicit Batcher(BatcherOptions options, std::function<void(size_t)> on_batch = {});
  /// Runs what is queued, then stops.
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Queues all of `jobs` or none: false when the queue has no room for them all.
  bool submit(const std::vector<std::shared_ptr<BatchJob>>& jobs);
  /// Tiles waiting (not yet in a forward pass).
  size_t depth() const;
  const BatcherOptions& options() const { return options_; }

 private:
  void loop();
  void run(std::vector<std::shared_ptr<BatchJob>>& batch);

  BatcherOptions options_;
  std::function<void(size_t)> on_batch_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<BatchJob>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace satx::serve
