#include "satx/serve/batcher.hpp"

#include <torch/torch.h>

#include "satx/core/error.hpp"

namespace satx::serve {

void check_batcher_options(const BatcherOptions& options) {
  if (options.max_batch < 1 || options.max_batch > 4096)
    throw_option("max_batch", "must be in [1, 4096], got " + std::to_string(options.max_batch));
  if (options.max_wait_ms < 0 || options.max_wait_ms > 10000)
    throw_option("max_wait_ms", "must be in [0, 10000], got " + std::to_string(options.max_wait_ms));
  if (options.max_queue < 1 || options.max_queue > 1000000)
    throw_option("max_queue", "must be in [1, 1000000], got " + std::to_string(options.max_queue));
}

Batcher::Batcher(BatcherOptions options, std::function<void(size_t)> on_batch)
    : options_(options), on_batch_(std::move(on_batch)) {
  check_batcher_options(options_);
  thread_ = std::thread([this] { loop(); });
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

bool Batcher::submit(const std::vector<std::shared_ptr<BatchJob>>& jobs) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() + jobs.size() > static_cast<size_t>(options_.max_queue)) return false;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& job : jobs) {
      job->queued = now;
      queue_.push_back(job);
    }
  }
  changed_.notify_all();
  return true;
}

size_t Batcher::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void Batcher::loop() {
  const auto max_batch = static_cast<size_t>(options_.max_batch);
  const auto wait = std::chrono::milliseconds(options_.max_wait_ms);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, nothing left
    // Tiles stay in the queue (and count against -max-queue) until their batch runs.
    changed_.wait_until(lock, queue_.front()->queued + wait, [&] { return queue_.size() >= max_batch || stopping_; });
    std::vector<std::shared_ptr<BatchJob>> batch;
    while (!queue_.empty() && batch.size() < max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    if (on_batch_) on_batch_(batch.size());
    run(batch);
    lock.lock();
  }
}

// One forward pass per model and tile shape in the batch: a reload or an odd-sized image
// splits a batch rather than mixing what cannot be stacked.
void Batcher::run(std::vector<std::shared_ptr<BatchJob>>& batch) {
  std::vector<bool> done(batch.size(), false);
  for (size_t first = 0; first < batch.size(); ++first) {
    if (done[first]) continue;
    std::vector<size_t> group;
    for (size_t i = first; i < batch.size(); ++i)
      if (!done[i] && batch[i]->model == batch[first]->model && batch[i]->tile.sizes() == batch[first]->tile.sizes()) {
        group.push_back(i);
        done[i] = true;
      }
    std::vector<torch::Tensor> tiles;
    for (size_t i : group) tiles.push_back(batch[i]->tile);
    try {
      const torch::Tensor probabilities = batch[first]->model->engine->probabilities(torch::stack(tiles));
      for (size_t row = 0; row < group.size(); ++row) batch[group[row]]->probabilities.set_value(probabilities[row].clone());
    } catch (...) {
      for (size_t i : group) batch[i]->probabilities.set_exception(std::current_exception());
    }
  }
}

}  // namespace satx::serve
