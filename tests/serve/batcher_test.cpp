// Dynamic batching: tiles that arrive within -max-wait-ms share a forward pass, no batch
// exceeds -max-batch, and a queue without room refuses a request whole.
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/serve/batcher.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

namespace {

std::vector<std::shared_ptr<satx::serve::BatchJob>> jobs(const std::shared_ptr<const satx::serve::ServedModel>& model,
                                                         int count, int side = 32) {
  std::vector<std::shared_ptr<satx::serve::BatchJob>> out;
  for (int i = 0; i < count; ++i) {
    auto job = std::make_shared<satx::serve::BatchJob>();
    job->model = model;
    job->tile = torch::full({3, side, side}, 10 * i, torch::kUInt8);
    out.push_back(job);
  }
  return out;
}

}  // namespace

TEST(Batcher, TilesWithinTheWaitShareABatchUpToMaxBatch) {
  satx::testing::TempDir dir;
  satx::testing::write_tiny_model(dir / "m.safetensors", dir / "data", {"a", "b"}, 1, 32, false);
  const auto model = satx::serve::load_served_model(dir / "m.safetensors", torch::kCPU, {});
  std::mutex mutex;
  std::vector<size_t> sizes;
  {
    satx::serve::Batcher batcher({4, 300, 16}, [&](size_t n) {
      std::lock_guard<std::mutex> lock(mutex);
      sizes.push_back(n);
    });
    auto mixed = jobs(model, 6);
    auto odd = jobs(model, 1, 40);  // another tile size: its own forward pass, same batch
    mixed.push_back(odd[0]);
    ASSERT_TRUE(batcher.submit(mixed));
    for (int i = 0; i < 100 && batcher.depth() > 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(batcher.depth(), 3u);  // the first 4 ran at once (a full batch), 3 wait for company
    EXPECT_FALSE(batcher.submit(jobs(model, 14)));  // 3 + 14 > 16: refused whole
    EXPECT_EQ(batcher.depth(), 3u);
    for (size_t i = 0; i < mixed.size(); ++i) {
      const auto p = mixed[i]->probabilities.get_future().get();
      const auto alone = model->engine->probabilities(mixed[i]->tile.unsqueeze(0))[0];
      EXPECT_TRUE(torch::allclose(p, alone, 1e-5, 1e-6)) << i;
    }
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 3}));
}

TEST(Batcher, QueuedTilesAreScoredWhenItStops) {
  satx::testing::TempDir dir;
  satx::testing::write_tiny_model(dir / "m.safetensors", dir / "data", {"a", "b"}, 1, 32, false);
  const auto model = satx::serve::load_served_model(dir / "m.safetensors", torch::kCPU, {});
  auto queued = jobs(model, 2);
  {
    satx::serve::Batcher batcher({8, 10000, 8});
    ASSERT_TRUE(batcher.submit(queued));
  }  // the destructor does not wait the 10 s out, and answers both
  for (auto& job : queued) EXPECT_EQ(job->probabilities.get_future().get().size(0), 2);
}
