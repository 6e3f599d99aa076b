// score_tiles: batch order and coverage, unreadable tiles (skipped or strict), probabilities, decode threads.
#include <algorithm>
#include <map>
#include <numeric>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/infer/engine.hpp"
#include "satx/infer/scorer.hpp"
#include "satx/models/model_file.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

namespace fs = std::filesystem;
using satx::infer::ScoredBatch;
using satx::infer::ScorerOptions;
using satx::testing::TempDir;

namespace {

const std::vector<std::string> kClasses = {"a", "b", "c"};

// A three-class model whose head separates its 15 tiles (so a row shows which tile it scored).
struct Fixture {
  TempDir dir;
  fs::path model = dir / "m.safetensors";
  std::vector<std::string> tiles;  // a_0000.png ... c_0004.png, 15 tiles
  Fixture() {
    satx::testing::write_tiny_model(model, dir / "data", kClasses, 5, 32, /*fit_head=*/true);
    tiles = satx::testing::tiny_tile_paths(dir / "data", kClasses, 5);
  }
};

Fixture& fixture() {
  static Fixture shared;
  return shared;
}

satx::Context context() { return satx::testing::cpu_context(3); }

satx::infer::InferenceEngine engine() { return satx::testing::cpu_engine(fixture().model); }

std::vector<ScoredBatch> score(const std::vector<std::string>& paths, const std::vector<int64_t>& labels,
                               const ScorerOptions& options) {
  auto e = engine();
  std::vector<ScoredBatch> batches;
  satx::infer::score_tiles(e, paths, labels, options, context(), [&](const ScoredBatch& b) { batches.push_back(b); });
  return batches;
}

// Probabilities of every scored tile by input position.
std::map<size_t, torch::Tensor> rows_by_index(const std::vector<ScoredBatch>& batches) {
  std::map<size_t, torch::Tensor> rows;
  for (const auto& b : batches)
    for (size_t i = 0; i < b.indices.size(); ++i) rows[b.indices[i]] = b.probabilities[static_cast<int64_t>(i)].clone();
  return rows;
}

}  // namespace

TEST(ScoreTiles, BatchesArriveInInputOrderCoveringEveryIndexOnce) {
  const auto& tiles = fixture().tiles;
  std::vector<int64_t> labels(tiles.size());
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 3);
  for (int batch_size : {4, 7, 64}) {  // 7: a last batch of one tile
    ScorerOptions options;
    options.batch_size = batch_size;
    options.decode_threads = 2;
    options.prefetch = 2;
    const auto batches = score(tiles, labels, options);
    std::vector<size_t> seen;
    for (const auto& b : batches) {
      EXPECT_LE(b.indices.size(), static_cast<size_t>(batch_size));
      EXPECT_TRUE(b.failed.empty());
      ASSERT_EQ(b.probabilities.dim(), 2);
      EXPECT_EQ(b.probabilities.size(0), static_cast<int64_t>(b.indices.size()));
      EXPECT_EQ(b.probabilities.size(1), 3);
      ASSERT_EQ(b.labels.numel(), static_cast<int64_t>(b.indices.size()));
      const torch::Tensor predicted = b.probabilities.argmax(1);
      for (size_t i = 0; i < b.indices.size(); ++i) {
        EXPECT_EQ(b.labels[static_cast<int64_t>(i)].item<int64_t>(), labels[b.indices[i]]);
        // Row i holds the scores of tile indices[i]: tiles 0-4 are class a, 5-9 b, 10-14 c.
        EXPECT_EQ(predicted[static_cast<int64_t>(i)].item<int64_t>(), static_cast<int64_t>(b.indices[i] / 5))
            << "tile " << b.indices[i];
      }
      seen.insert(seen.end(), b.indices.begin(), b.indices.end());
    }
    std::vector<size_t> expected(tiles.size());
    std::iota(expected.begin(), expected.end(), size_t(0));
    EXPECT_EQ(seen, expected) << "batch size " << batch_size;
    EXPECT_EQ(batches.size(), (tiles.size() + batch_size - 1) / batch_size);
  }
}

TEST(ScoreTiles, ProbabilityRowsAreFloatOnCpuAndSumToOne) {
  const auto batches = score(fixture().tiles, {}, ScorerOptions{});
  ASSERT_FALSE(batches.empty());
  for (const auto& b : batches) {
    EXPECT_EQ(b.probabilities.scalar_type(), torch::kFloat);
    EXPECT_TRUE(b.probabilities.device().is_cpu());
    EXPECT_GE(b.probabilities.min().item<float>(), 0.0f);
    EXPECT_TRUE(torch::allclose(b.probabilities.sum(1), torch::ones({b.probabilities.size(0)}), 1e-5, 1e-5));
  }
}

TEST(ScoreTiles, UnlabelledInputsComeBackWithLabelMinusOne) {
  const auto batches = score(fixture().tiles, {}, ScorerOptions{});
  for (const auto& b : batches) EXPECT_TRUE(b.labels.eq(-1).all().item<bool>()) << b.labels;
}

TEST(ScoreTiles, ScoresDoNotDependOnBatchSizeOrThreads) {
  ScorerOptions one;
  one.batch_size = 2;
  one.decode_threads = 1;
  one.prefetch = 1;
  ScorerOptions many;
  many.batch_size = 6;
  many.decode_threads = 3;
  const auto a = rows_by_index(score(fixture().tiles, {}, one));
  const auto b = rows_by_index(score(fixture().tiles, {}, many));
  ASSERT_EQ(a.size(), fixture().tiles.size());
  ASSERT_EQ(b.size(), a.size());
  for (const auto& [index, row] : a)
    EXPECT_TRUE(torch::allclose(row, b.at(index), 1e-4, 1e-5)) << "tile " << index << ": " << row << " vs " << b.at(index);
}

TEST(ScoreTiles, UnreadableTilesComeBackInFailedOfTheirBatch) {
  TempDir dir;
  auto paths = fixture().tiles;
  satx::testing::write_text(dir / "garbage.png", "this is not a png at all");
  const std::string garbage = (dir / "garbage.png").string();
  const std::string missing = (dir / "missing.png").string();
  paths.insert(paths.begin() + 5, garbage);   // batch 1 of size 4
  paths.insert(paths.begin() + 11, missing);  // batch 2
  std::vector<int64_t> labels(paths.size(), 1);
  ScorerOptions options;
  options.batch_size = 4;
  const auto batches = score(paths, labels, options);
  ASSERT_EQ(batches.size(), 5u);
  std::vector<std::string> failed;
  std::vector<size_t> scored;
  for (size_t k = 0; k < batches.size(); ++k) {
    const auto& b = batches[k];
    for (const auto& f : b.failed) {
      failed.push_back(f.path);
      EXPECT_FALSE(f.reason.empty()) << f.path;
    }
    if (k == 1) EXPECT_EQ(b.failed.size(), 1u);
    if (k == 2) EXPECT_EQ(b.failed.size(), 1u);
    EXPECT_EQ(b.indices.size() + b.failed.size(), k < 4 ? 4u : 1u) << "batch " << k;
    if (!b.indices.empty()) {
      EXPECT_EQ(b.probabilities.size(0), static_cast<int64_t>(b.indices.size()));
      EXPECT_EQ(b.labels.numel(), static_cast<int64_t>(b.indices.size()));
    }
    scored.insert(scored.end(), b.indices.begin(), b.indices.end());
  }
  EXPECT_EQ(failed, (std::vector<std::string>{garbage, missing}));
  // The good tiles keep their input positions, in order, skipping the two bad ones.
  std::vector<size_t> expected;
  for (size_t i = 0; i < paths.size(); ++i)
    if (i != 5 && i != 11) expected.push_back(i);
  EXPECT_EQ(scored, expected);
}

TEST(ScoreTiles, BatchWhoseTilesAllFailHasZeroProbabilityRows) {
  TempDir dir;
  satx::testing::write_text(dir / "bad.png", "garbage");
  const auto& tiles = fixture().tiles;
  const std::vector<std::string> paths = {tiles[0], tiles[1], (dir / "bad.png").string(), (dir / "gone.png").string(),
                                          tiles[2]};
  ScorerOptions options;
  options.batch_size = 2;
  const auto batches = score(paths, {}, options);
  ASSERT_EQ(batches.size(), 3u);
  const ScoredBatch& empty = batches[1];
  EXPECT_TRUE(empty.indices.empty());
  EXPECT_EQ(empty.failed.size(), 2u);
  EXPECT_EQ(empty.labels.numel(), 0);
  // The header promises float32 CPU [n, classes] probabilities: n = 0 here, not an undefined tensor.
  ASSERT_TRUE(empty.probabilities.defined()) << "probabilities of an all-failed batch are an undefined tensor";
  EXPECT_EQ(empty.probabilities.dim(), 2);
  EXPECT_EQ(empty.probabilities.size(0), 0);
  EXPECT_EQ(empty.probabilities.size(1), 3);
}

TEST(ScoreTiles, StrictThrowsBadDataNamingTheTile) {
  TempDir dir;
  auto paths = fixture().tiles;
  satx::testing::write_text(dir / "broken.png", std::string(64, '\x01'));
  const std::string broken = (dir / "broken.png").string();
  paths.insert(paths.begin() + 2, broken);
  ScorerOptions options;
  options.batch_size = 4;
  options.strict = true;
  try {
    score(paths, {}, options);
    FAIL() << "a strict run should throw on the unreadable tile";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find(broken), std::string::npos) << e.what();
  }
}

TEST(ScoreTiles, TilesOfOtherSizesAreResizedAndScored) {
  TempDir dir;
  auto paths = fixture().tiles;
  cv::Mat big(48, 48, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::Mat small(20, 20, CV_8UC3, cv::Scalar(200, 10, 90));
  cv::imwrite((dir / "big.png").string(), big);
  cv::imwrite((dir / "small.png").string(), small);
  paths.push_back((dir / "big.png").string());
  paths.push_back((dir / "small.png").string());
  const auto batches = score(paths, {}, ScorerOptions{});
  size_t scored = 0;
  for (const auto& b : batches) {
    EXPECT_TRUE(b.failed.empty()) << (b.failed.empty() ? "" : b.failed[0].path + ": " + b.failed[0].reason);
    scored += b.indices.size();
  }
  EXPECT_EQ(scored, paths.size());
}

TEST(ScoreTiles, EmptyInputNeverCallsBack) {
  int calls = 0;
  auto e = engine();
  satx::infer::score_tiles(e, {}, {}, ScorerOptions{}, context(), [&](const ScoredBatch&) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ScoreTiles, RejectsBatchSizeBelowOneAsUsage) {
  ScorerOptions options;
  options.batch_size = 0;
  try {
    score(fixture().tiles, {}, options);
    FAIL() << "batch size 0 should be refused";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
  }
}

TEST(ResolveDecodeThreads, ResolvesZeroToAtLeastOneAndKeepsExplicitCounts) {
  satx::Context cpu;
  cpu.device = torch::kCPU;
  ScorerOptions automatic;  // decode_threads = 0
  for (int threads : {1, 2, 3, 4, 8, 16}) {
    cpu.threads = threads;
    const int resolved = satx::infer::resolve_decode_threads(automatic, cpu);
    EXPECT_GE(resolved, 1) << threads << " threads";
    EXPECT_LE(resolved, threads) << threads << " threads";
  }
  cpu.threads = 16;
  EXPECT_LT(satx::infer::resolve_decode_threads(automatic, cpu), 16);  // CPU keeps most threads for compute
  satx::Context cuda = cpu;
  cuda.device = torch::Device(torch::kCUDA, 0);
  cuda.threads = 6;
  EXPECT_EQ(satx::infer::resolve_decode_threads(automatic, cuda), 6);  // the GPU computes
  ScorerOptions fixed;
  fixed.decode_threads = 3;
  EXPECT_EQ(satx::infer::resolve_decode_threads(fixed, cpu), 3);
  EXPECT_EQ(satx::infer::resolve_decode_threads(fixed, cuda), 3);
}
