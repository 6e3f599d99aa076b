// TileLoader: coverage of every tile per epoch, deterministic shuffling, bad tiles, the cache.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/data/dataset.hpp"
#include "satx/data/loader.hpp"
#include "satx/io/image.hpp"
#include "satx/io/prediction_reader.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::data::LoaderOptions;
using satx::data::TileLoader;

namespace {

struct Fixture {
  satx::testing::TempDir dir;
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
  explicit Fixture(int per_class = 10, int size = 16) {
    satx::testing::make_tiny_dataset(dir.path(), {"a", "b", "c"}, per_class, size);
    satx::data::Dataset dataset = satx::data::discover_dataset(dir.path().string());
    for (const auto& sample : dataset.samples) {
      paths.push_back(sample.path);
      labels.push_back(sample.label);
    }
  }
};

satx::Context context(uint64_t seed = 7, int threads = 2) {
  satx::Context c;
  c.seed = seed;
  c.threads = threads;
  c.log = satx::null_logger();
  return c;
}

std::vector<satx::data::Batch> epoch(TileLoader& loader, int number) {
  loader.start_epoch(number);
  std::vector<satx::data::Batch> batches;
  while (auto batch = loader.next()) batches.push_back(std::move(*batch));
  return batches;
}

std::vector<size_t> visit_order(const std::vector<satx::data::Batch>& batches) {
  std::vector<size_t> order;
  for (const auto& batch : batches) order.insert(order.end(), batch.indices.begin(), batch.indices.end());
  return order;
}

LoaderOptions batches_of(int size, bool shuffle = false) {
  LoaderOptions options;
  options.batch_size = size;
  options.shuffle = shuffle;
  return options;
}

}  // namespace

TEST(TileLoader, ServesEveryTileOnceInOrderWhenNotShuffled) {
  Fixture data;
  TileLoader loader(data.paths, data.labels, batches_of(7), context());
  EXPECT_EQ(loader.size(), 30u);
  EXPECT_EQ(loader.batches_per_epoch(), 5u);
  auto batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 5u);
  std::vector<size_t> order = visit_order(batches);
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(batches.back().images.size(0), 2);
  for (const auto& batch : batches) {
    EXPECT_EQ(batch.images.dtype(), torch::kUInt8);
    EXPECT_EQ(batch.images.dim(), 4);
    EXPECT_EQ(batch.images.size(1), 3);
    EXPECT_EQ(batch.images.size(2), 16);
    for (size_t r = 0; r < batch.indices.size(); ++r)
      EXPECT_EQ(batch.labels[static_cast<int64_t>(r)].item<int64_t>(), data.labels[batch.indices[r]]);
  }
}

TEST(TileLoader, BatchRowsAreTheDecodedTilesInChannelFirstOrder) {
  Fixture data(2, 12);
  TileLoader loader(data.paths, data.labels, batches_of(4), context());
  auto batches = epoch(loader, 0);
  const auto& batch = batches[1];
  for (size_t r = 0; r < batch.indices.size(); ++r) {
    cv::Mat tile = satx::io::decode_tile(data.paths[batch.indices[r]]).pixels;  // HWC, RGB
    torch::Tensor hwc = batch.images[static_cast<int64_t>(r)].permute({1, 2, 0}).contiguous();
    cv::Mat row(12, 12, CV_8UC3, hwc.data_ptr<uint8_t>());
    EXPECT_EQ(cv::norm(row, tile, cv::NORM_INF), 0);
  }
}

TEST(TileLoader, ShufflesDeterministicallyPerSeedAndDifferentlyPerEpoch) {
  Fixture data;
  TileLoader first(data.paths, data.labels, batches_of(8, true), context(7));
  TileLoader again(data.paths, data.labels, batches_of(8, true), context(7));
  TileLoader other_seed(data.paths, data.labels, batches_of(8, true), context(8));
  std::vector<size_t> e0 = visit_order(epoch(first, 0));
  std::vector<size_t> e1 = visit_order(epoch(first, 1));
  EXPECT_EQ(e0, visit_order(epoch(again, 0)));
  EXPECT_EQ(e1, visit_order(epoch(again, 1)));
  EXPECT_NE(e0, e1);
  EXPECT_NE(e0, visit_order(epoch(other_seed, 0)));
  std::vector<size_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], i);  // a permutation: each tile once
  EXPECT_EQ(e0, visit_order(epoch(first, 0)));                         // an epoch replays
}

TEST(TileLoader, SkipsAndListsBadTilesOnce) {
  Fixture data(4);
  satx::testing::write_text(data.paths[1], "");                      // zero bytes
  satx::testing::write_text(data.paths[6], "not a picture at all");  // text named .png
  TileLoader loader(data.paths, data.labels, batches_of(5), context());
  for (int e = 0; e < 2; ++e) {
    auto batches = epoch(loader, e);
    std::vector<size_t> order = visit_order(batches);
    EXPECT_EQ(order.size(), 10u);
    EXPECT_EQ(std::count(order.begin(), order.end(), 1u), 0);
    ASSERT_EQ(batches[0].failed.size(), 1u);
    EXPECT_EQ(batches[0].failed[0].path, data.paths[1]);
    EXPECT_NE(batches[0].failed[0].reason.find("empty file"), std::string::npos);
    EXPECT_EQ(batches[0].images.size(0), 4);
    EXPECT_EQ(batches[0].labels.size(0), 4);
    ASSERT_EQ(batches[1].failed.size(), 1u);
    EXPECT_EQ(batches[1].failed[0].path, data.paths[6]);
  }
  auto bad = loader.bad_files();
  ASSERT_EQ(bad.size(), 2u);  // listed once, though seen in two epochs
  std::set<std::string> bad_paths = {bad[0].path, bad[1].path};
  EXPECT_EQ(bad_paths, (std::set<std::string>{data.paths[1], data.paths[6]}));
}

TEST(TileLoader, StrictModeThrowsNamingTheFile) {
  Fixture data(4);
  satx::testing::write_text(data.paths[5], "garbage");
  LoaderOptions options = batches_of(4);
  options.strict = true;
  for (int prefetch : {0, 2}) {
    options.prefetch = prefetch;
    TileLoader loader(data.paths, data.labels, options, context());
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
    try {
      loader.next();
      ADD_FAILURE() << "strict loader did not throw";
    } catch (const satx::Error& e) {
      EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
      EXPECT_NE(std::string(e.what()).find(data.paths[5]), std::string::npos) << e.what();
    }
  }
}

TEST(TileLoader, CacheOnAndOffGiveIdenticalBatches) {
  Fixture data;
  satx::testing::write_text(data.paths[3], "");
  LoaderOptions cached = batches_of(6, true), uncached = batches_of(6, true);
  cached.cache = satx::data::CacheMode::Ram;
  uncached.cache = satx::data::CacheMode::Off;
  TileLoader with(data.paths, data.labels, cached, context());
  TileLoader without(data.paths, data.labels, uncached, context());
  for (int e = 0; e < 3; ++e) {
    auto a = epoch(with, e);
    auto b = epoch(without, e);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].indices, b[i].indices);
      EXPECT_TRUE(torch::equal(a[i].images, b[i].images));
      EXPECT_TRUE(torch::equal(a[i].labels, b[i].labels));
      EXPECT_EQ(a[i].failed.size(), b[i].failed.size());
    }
  }
  EXPECT_TRUE(with.caching());
  EXPECT_FALSE(without.caching());
}

TEST(TileLoader, AutoCacheFollowsTheBudget) {
  Fixture data(2);
  LoaderOptions options = batches_of(4);
  options.cache = satx::data::CacheMode::Auto;
  options.cache_budget_bytes = 6 * 16 * 16 * 3;  // exactly the six tiles
  TileLoader fits(data.paths, data.labels, options, context());
  fits.start_epoch(0);
  EXPECT_TRUE(fits.caching());
  options.cache_budget_bytes -= 1;
  TileLoader too_big(data.paths, data.labels, options, context());
  too_big.start_epoch(0);
  EXPECT_FALSE(too_big.caching());
}

TEST(TileLoader, PrefetchingDoesNotChangeBatches) {
  Fixture data;
  LoaderOptions inline_options = batches_of(4, true), ahead = batches_of(4, true);
  inline_options.prefetch = 0;
  ahead.prefetch = 3;
  TileLoader a(data.paths, data.labels, inline_options, context());
  TileLoader b(data.paths, data.labels, ahead, context(7, 1));
  auto x = epoch(a, 2);
  auto y = epoch(b, 2);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_TRUE(torch::equal(x[i].images, y[i].images));
}

TEST(TileLoader, ResizesToTheTileSizeOrRejectsOddSizes) {
  Fixture data(3, 16);
  cv::imwrite(data.paths[4], cv::Mat(20, 24, CV_8UC3, cv::Scalar(1, 2, 3)));
  LoaderOptions keep = batches_of(9);
  TileLoader as_decoded(data.paths, data.labels, keep, context());
  auto batches = epoch(as_decoded, 0);
  EXPECT_EQ(as_decoded.tile_shape(), std::make_pair(16, 16));
  ASSERT_EQ(batches[0].failed.size(), 1u);
  EXPECT_NE(batches[0].failed[0].reason.find("is 24x20 but the other tiles are 16x16"), std::string::npos)
      << batches[0].failed[0].reason;

  LoaderOptions resize = batches_of(9);
  resize.tile_size = 10;
  TileLoader resized(data.paths, data.labels, resize, context());
  batches = epoch(resized, 0);
  EXPECT_TRUE(batches[0].failed.empty());
  EXPECT_EQ(batches[0].images.sizes(), (std::vector<int64_t>{9, 3, 10, 10}));
}

TEST(TileLoader, DropLastAndUnlabelledInputs) {
  Fixture data;
  LoaderOptions options = batches_of(8);
  options.drop_last = true;
  TileLoader loader(data.paths, {}, options, context());
  EXPECT_EQ(loader.batches_per_epoch(), 3u);
  auto batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(visit_order(batches).size(), 24u);
  EXPECT_EQ(batches[0].labels[0].item<int64_t>(), -1);
}

TEST(TileLoader, RejectsInvalidOptions) {
  Fixture data(1);
  LoaderOptions options;
  EXPECT_THROW(satx::data::parse_cache_mode("disk"), satx::Error);
  options.batch_size = 0;
  EXPECT_THROW(TileLoader(data.paths, data.labels, options, context()), satx::Error);
  EXPECT_THROW(TileLoader(data.paths, {1}, LoaderOptions{}, context()), satx::Error);
}

TEST(WriteBadFiles, WritesOneTabSeparatedLinePerFileEvenForNamesWithTabsAndNewlines) {
  satx::testing::TempDir dir;
  satx::data::write_bad_files((dir / "errors.tsv").string(),
                              {{"a/b.jpg", "truncated\tJPEG"}, {"c.png", "empty"}, {"odd\tname\nx.jpg", "empty"}});
  EXPECT_EQ(satx::testing::read_text(dir / "errors.tsv"),
            "a/b.jpg\ttruncated\\tJPEG\nc.png\tempty\nodd\\tname\\nx.jpg\tempty\n");
  // The same reader as predict's .errors gives the names back unchanged.
  std::vector<std::string> paths;
  satx::io::scan_error_log(dir / "errors.tsv", [&](satx::io::ErrorEntry&& e) { paths.push_back(e.path); });
  EXPECT_EQ(paths, (std::vector<std::string>{"a/b.jpg", "c.png", "odd\tname\nx.jpg"}));
}

TEST(TileLoader, BalancedSamplerGivesEveryBatchEqualClassSharesAndAPassSeesEveryTileOnce) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir.path(), {"background", "tower"}, 30, 8, 1);
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
  for (int i = 0; i < 30; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "background_%04d.png", i);
    paths.push_back((dir / "background" / name).string());
    labels.push_back(0);
  }
  paths.push_back((dir / "tower" / "tower_0000.png").string());
  paths.push_back((dir / "tower" / "tower_0001.png").string());
  labels.push_back(1);
  labels.push_back(1);
  satx::data::LoaderOptions options;
  options.batch_size = 8;
  options.shuffle = true;
  options.sampler = satx::data::Sampler::Balanced;
  satx::Context context;
  context.threads = 2;
  satx::data::TileLoader loader(paths, labels, options, context);
  loader.start_epoch(1);
  int batches = 0;
  while (auto batch = loader.next()) {
    ++batches;
    ASSERT_EQ(batch->labels.numel(), 8);
    EXPECT_EQ(batch->labels.sum().item<int64_t>(), 4) << "batch " << batches;
  }
  EXPECT_EQ(batches, 4);  // ceil(32 / 8): an epoch keeps its length
  loader.start_pass();
  int64_t tiles = 0, towers = 0;
  while (auto batch = loader.next()) {
    tiles += batch->labels.numel();
    towers += batch->labels.sum().item<int64_t>();
  }
  EXPECT_EQ(tiles, 32);
  EXPECT_EQ(towers, 2);
}
