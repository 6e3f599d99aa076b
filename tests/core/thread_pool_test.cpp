// ThreadPool: parallel_for coverage and exception propagation, submit futures, worker count, shutdown.
#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/core/thread_pool.hpp"

using namespace std::chrono_literals;

TEST(ThreadPool, ParallelForVisitsEveryIndexExactlyOnce) {
  for (int workers : {1, 2, 4}) {
    satx::ThreadPool pool(workers);
    for (size_t count : {size_t(0), size_t(1), size_t(2), size_t(7), size_t(16), size_t(1001)}) {
      std::vector<std::atomic<int>> visits(count);
      for (auto& v : visits) v.store(0);
      pool.parallel_for(count, [&](size_t i) {
        ASSERT_LT(i, count);
        visits[i].fetch_add(1);
      });
      for (size_t i = 0; i < count; ++i)
        ASSERT_EQ(visits[i].load(), 1) << "index " << i << " of " << count << " with " << workers << " workers";
    }
  }
}

TEST(ThreadPool, ParallelForWithZeroCountNeverCallsBody) {
  satx::ThreadPool pool(2);
  std::atomic<int> calls{0};
  pool.parallel_for(0, [&](size_t) { ++calls; });
  EXPECT_EQ(calls.load(), 0);
}

TEST(ThreadPool, ParallelForReturnsOnlyAfterEveryBodyHasFinished) {
  satx::ThreadPool pool(3);
  std::vector<int> values(64, 0);  // plain ints: the join must publish them
  pool.parallel_for(values.size(), [&](size_t i) {
    if (i % 8 == 0) std::this_thread::sleep_for(2ms);
    values[i] = static_cast<int>(i) * 3;
  });
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], static_cast<int>(i) * 3);
}

TEST(ThreadPool, ParallelForRethrowsTaskExceptionAfterAllJobsFinished) {
  satx::ThreadPool pool(4);
  std::atomic<int> in_flight{0};
  std::atomic<int> finished{0};
  try {
    pool.parallel_for(100, [&](size_t i) {
      ++in_flight;
      if (i == 5) {
        --in_flight;
        throw std::runtime_error("tile 5 is broken");
      }
      std::this_thread::sleep_for(1ms);
      ++finished;
      --in_flight;
    });
    FAIL() << "the exception of index 5 should reach the caller";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "tile 5 is broken");
    // Every job has finished before the rethrow: nothing still runs, nothing runs later.
    EXPECT_EQ(in_flight.load(), 0);
    const int seen = finished.load();
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(finished.load(), seen);
  }
}

TEST(ThreadPool, ParallelForRethrowsSatxErrorWithItsCode) {
  satx::ThreadPool pool(2);
  try {
    pool.parallel_for(10, [](size_t i) {
      if (i == 9) satx::throw_bad_data("tile 9 is corrupt");
    });
    FAIL() << "expected satx::Error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find("tile 9"), std::string::npos);
  }
}

TEST(ThreadPool, ParallelForThrowsOneOfTheExceptionsWhenSeveralTasksFail) {
  satx::ThreadPool pool(2);
  std::atomic<int> thrown{0};
  EXPECT_THROW(pool.parallel_for(50,
                                 [&](size_t i) {
                                   if (i % 10 == 0) {
                                     ++thrown;
                                     throw std::logic_error("failed at " + std::to_string(i));
                                   }
                                 }),
               std::logic_error);
  EXPECT_GE(thrown.load(), 1);
  // The pool is still usable after failures.
  std::atomic<int> calls{0};
  pool.parallel_for(20, [&](size_t) { ++calls; });
  EXPECT_EQ(calls.load(), 20);
}

TEST(ThreadPool, SubmitFutureCarriesResultOrException) {
  satx::ThreadPool pool(2);
  auto answer = pool.submit([] { return 6 * 7; });
  auto text = pool.submit([] { return std::string("tile"); });
  auto failing = pool.submit([]() -> int { throw std::out_of_range("index 12"); });
  auto nothing = pool.submit([] {});
  EXPECT_EQ(answer.get(), 42);
  EXPECT_EQ(text.get(), "tile");
  EXPECT_THROW(failing.get(), std::out_of_range);
  EXPECT_NO_THROW(nothing.get());
}

TEST(ThreadPool, StartsAtLeastOneWorker) {
  EXPECT_EQ(satx::ThreadPool(0).size(), 1);
  EXPECT_EQ(satx::ThreadPool(-3).size(), 1);
  EXPECT_EQ(satx::ThreadPool(1).size(), 1);
  EXPECT_EQ(satx::ThreadPool(3).size(), 3);
  satx::ThreadPool zero(0);
  EXPECT_EQ(zero.submit([] { return 5; }).get(), 5);  // the one worker runs jobs
}

TEST(ThreadPool, DestructorFinishesQueuedJobs) {
  std::atomic<int> done{0};
  {
    satx::ThreadPool pool(1);
    // The first job holds the only worker, so the rest are still queued at destruction.
    pool.submit([&] {
      std::this_thread::sleep_for(20ms);
      ++done;
    });
    for (int i = 0; i < 40; ++i) pool.submit([&] { ++done; });
  }
  EXPECT_EQ(done.load(), 41);
}

TEST(ThreadPool, RunsJobsOnSeveralWorkersAtOnce) {
  satx::ThreadPool pool(2);
  std::promise<void> a_started, b_started;
  std::shared_future<void> a_seen = a_started.get_future().share();
  std::shared_future<void> b_seen = b_started.get_future().share();
  // Each job waits for the other to start: only two workers running together see both.
  auto a = pool.submit([&] {
    a_started.set_value();
    return b_seen.wait_for(5s) == std::future_status::ready;
  });
  auto b = pool.submit([&] {
    b_started.set_value();
    return a_seen.wait_for(5s) == std::future_status::ready;
  });
  EXPECT_TRUE(a.get());
  EXPECT_TRUE(b.get());
}
