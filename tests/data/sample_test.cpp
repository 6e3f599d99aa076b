// The synthetic sample dataset: layout, determinism, classes that differ.
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "satx/core/error.hpp"
#include "satx/data/dataset.hpp"
#include "satx/data/sample.hpp"
#include "satx/io/image.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;

TEST(SampleDataset, WritesSplitsOfReadableTilesPerClass) {
  satx::testing::TempDir dir;
  satx::data::SampleOptions options;
  options.per_class = 20;
  options.size = 32;
  satx::data::SampleSummary summary = satx::data::write_sample_dataset((dir / "sample").string(), options);
  EXPECT_EQ(summary.classes, (std::vector<std::string>{"fields", "forest", "water"}));
  EXPECT_EQ(summary.files, 60);
  ASSERT_EQ(summary.splits.size(), 3u);
  EXPECT_EQ(summary.splits[0], (std::pair<std::string, int64_t>{"train", 42}));
  EXPECT_EQ(summary.splits[1], (std::pair<std::string, int64_t>{"valid", 9}));
  for (const char* split : {"train", "valid", "test"}) {
    satx::data::Dataset dataset = satx::data::discover_dataset((dir / "sample" / split).string());
    EXPECT_EQ(dataset.classes, summary.classes);
    for (const auto& sample : dataset.samples) {
      satx::io::Tile tile = satx::io::decode_tile(sample.path);
      EXPECT_EQ(tile.pixels.size(), cv::Size(32, 32));
      EXPECT_EQ(tile.format, "jpeg");
    }
  }
}

TEST(SampleDataset, IsReproducibleAndSeedDependent) {
  satx::testing::TempDir dir;
  satx::data::SampleOptions options;
  options.per_class = 4;
  options.classes = 8;
  options.format = "png";
  satx::data::write_sample_dataset((dir / "a").string(), options);
  satx::data::write_sample_dataset((dir / "b").string(), options);
  options.seed = 43;
  satx::data::write_sample_dataset((dir / "c").string(), options);
  std::string relative = "train/roads/roads_0001.png";
  EXPECT_EQ(satx::testing::read_text(dir / "a" / relative), satx::testing::read_text(dir / "b" / relative));
  EXPECT_NE(satx::testing::read_text(dir / "a" / relative), satx::testing::read_text(dir / "c" / relative));
  // Train and test tiles are different images (no leakage by construction).
  EXPECT_NE(satx::testing::read_text(dir / "a/train/roads/roads_0000.png"),
            satx::testing::read_text(dir / "a/test/roads/roads_0000.png"));
}

TEST(SampleDataset, ClassesHaveDistinctMeanColours) {
  satx::testing::TempDir dir;
  satx::data::SampleOptions options;
  options.per_class = 10;
  options.classes = 8;
  satx::data::write_sample_dataset((dir / "s").string(), options);
  satx::data::Dataset dataset = satx::data::discover_dataset((dir / "s/train").string());
  std::vector<cv::Scalar> means(dataset.classes.size(), cv::Scalar::all(0));
  for (const auto& sample : dataset.samples)
    means[static_cast<size_t>(sample.label)] += cv::mean(satx::io::decode_tile(sample.path).pixels);
  for (size_t a = 0; a < means.size(); ++a)
    for (size_t b = a + 1; b < means.size(); ++b) {
      cv::Scalar difference = (means[a] - means[b]) / double(dataset.class_counts[a]);
      EXPECT_GT(cv::norm(difference), 10) << dataset.classes[a] << " vs " << dataset.classes[b];
    }
}

TEST(SampleDataset, RefusesBadOptionsAndNonEmptyFolders) {
  satx::testing::TempDir dir;
  satx::testing::write_text(dir / "full/x.txt", "x");
  EXPECT_THROW(satx::data::write_sample_dataset((dir / "full").string(), {}), satx::Error);
  satx::data::SampleOptions options;
  options.classes = 9;
  EXPECT_THROW(satx::data::write_sample_dataset((dir / "new").string(), options), satx::Error);
  options = {};
  options.format = "gif";
  EXPECT_THROW(satx::data::write_sample_dataset((dir / "new").string(), options), satx::Error);
}

TEST(SampleDataCommand, WritesTheQuickStartDataset) {
  satx::testing::TempDir dir;
  auto result = satx::testing::run_satx("sample-data -out=" + (dir / "sample").string() + " -per-class=6 -size=32");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("wrote 18 tiles"), std::string::npos) << result.out;
  EXPECT_TRUE(fs::exists(dir / "sample/valid/water/water_0000.jpg"));
  auto check = satx::testing::run_satx("data check -q -data=" + (dir / "sample").string());
  EXPECT_EQ(check.exit_code, 0) << check.out;
}
