// Class-balanced batches for rare classes.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "satx/core/error.hpp"
#include "satx/data/sampler.hpp"

using satx::data::balanced_order;

namespace {

// 3% positives: 970 tiles of class 0, 30 of class 1.
std::vector<int64_t> rare_labels() {
  std::vector<int64_t> labels(1000, 0);
  for (size_t i = 0; i < 30; ++i) labels[i * 33] = 1;
  return labels;
}

}  // namespace

TEST(BalancedSampler, EveryBatchHoldsBothClassesInEqualShare) {
  const auto labels = rare_labels();
  const auto order = balanced_order(labels, 64, 16, 7, 0);
  ASSERT_EQ(order.size(), 64u * 16u);
  for (size_t b = 0; b < 16; ++b) {
    int positives = 0;
    for (size_t i = b * 64; i < (b + 1) * 64; ++i) positives += labels[order[i]] == 1;
    EXPECT_EQ(positives, 32) << "batch " << b;
  }
}

TEST(BalancedSampler, ManyClassesShareEachBatchWithinOne) {
  std::vector<int64_t> labels;
  const std::vector<int> counts = {500, 200, 60, 12, 3, 90, 400, 7, 33, 100};
  for (int c = 0; c < 10; ++c) labels.insert(labels.end(), counts[c], c);
  const size_t batches = 40;
  const auto order = balanced_order(labels, 64, batches, 3, 2);
  std::map<int64_t, size_t> total;
  for (size_t b = 0; b < batches; ++b) {
    std::map<int64_t, int> in_batch;
    for (size_t i = b * 64; i < (b + 1) * 64; ++i) ++in_batch[labels[order[i]]];
    for (int c = 0; c < 10; ++c) {
      EXPECT_GE(in_batch[c], 6) << "class " << c << " batch " << b;
      EXPECT_LE(in_batch[c], 7) << "class " << c << " batch " << b;
      total[c] += in_batch[c];
    }
  }
  // The leftover places rotate, so over the epoch every class gets 64/10 per batch on average.
  for (int c = 0; c < 10; ++c) EXPECT_NEAR(static_cast<double>(total[c]) / batches, 6.4, 0.1) << "class " << c;
}

TEST(BalancedSampler, ARareClassRepeatsOnlyAfterAllItsTilesWereDrawn) {
  const auto labels = rare_labels();
  const auto order = balanced_order(labels, 64, 4, 11, 5);
  std::vector<size_t> positives;
  for (size_t index : order)
    if (labels[index] == 1) positives.push_back(index);
  ASSERT_EQ(positives.size(), 128u);
  // Drawn in cycles through all 30: 128 draws give every tile 4 or 5 times, never 3 or 6.
  std::map<size_t, int> seen;
  for (size_t index : positives) ++seen[index];
  EXPECT_EQ(seen.size(), 30u);
  for (const auto& [index, times] : seen) {
    EXPECT_GE(times, 4) << index;
    EXPECT_LE(times, 5) << index;
  }
  // Majority tiles are drawn without replacement: 128 draws of 970 tiles, all distinct.
  std::set<size_t> negatives;
  for (size_t index : order)
    if (labels[index] == 0) negatives.insert(index);
  EXPECT_EQ(negatives.size(), 128u);
}

TEST(BalancedSampler, TheSameSeedAndEpochGiveTheSameOrder) {
  const auto labels = rare_labels();
  EXPECT_EQ(balanced_order(labels, 32, 10, 1, 3), balanced_order(labels, 32, 10, 1, 3));
  EXPECT_NE(balanced_order(labels, 32, 10, 1, 3), balanced_order(labels, 32, 10, 1, 4));
  EXPECT_NE(balanced_order(labels, 32, 10, 1, 3), balanced_order(labels, 32, 10, 2, 3));
}

TEST(BalancedSampler, UnlabelledTilesAreNeverDrawn) {
  std::vector<int64_t> labels = {0, -1, 1, -1, 0, 1};
  for (size_t index : balanced_order(labels, 4, 5, 0, 0)) EXPECT_NE(labels[index], -1);
  EXPECT_TRUE(balanced_order(std::vector<int64_t>(5, -1), 4, 3, 0, 0).empty());
}

TEST(BalancedSampler, ParsesItsNameAndRejectsOthers) {
  EXPECT_EQ(satx::data::parse_sampler("balanced"), satx::data::Sampler::Balanced);
  EXPECT_EQ(satx::data::parse_sampler("shuffle"), satx::data::Sampler::Shuffle);
  try {
    satx::data::parse_sampler("weighted");
    FAIL() << "no error";
  } catch (const satx::Error& error) {
    EXPECT_NE(std::string(error.what()).find("weighted"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("balanced"), std::string::npos);
  }
}
