#pragma once
/// A small fixed-size thread pool for decoding and other CPU-side work.

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace satx {

/// Runs submitted jobs on `threads` workers; the destructor finishes queued jobs first.
class ThreadPool {
 public:
  /// Starts `threads` workers (at least one).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Queues `job`; the future carries its result or exception.
  template <typename F>
  auto submit(F job) -> std::future<decltype(job())> {
    using Result = decltype(job());
    auto task = std::make_shared<std::packaged_task<Result()>>(std::move(job));
    std::future<Result> result = task->get_future();
    enqueue([task] { (*task)(); });
    return result;
  }

  /// Calls `body(i)` for i in [0, count) across the workers and waits; rethrows the first
  /// exception after every job has finished.
  void parallel_for(size_t count, const std::function<void(size_t)>& body);

  /// Number of worker threads.
  int size() const { return static_cast<int>(workers_.size()); }

 private:
  void enqueue(std::function<void()> job);
  void work();

  std::vector<std::thread> workers_;
  std::queue<std::function<void()>> jobs_;
  std::mutex mutex_;
  std::condition_variable ready_;
  bool stopping_ = false;
};

}  // namespace satx
