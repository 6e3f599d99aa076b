// Dataset discovery: class order, nested folders, what is skipped and counted, split checks.
#include <algorithm>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/data/dataset.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::data::discover_dataset;

namespace {

std::string bad_data_message(const std::function<void()>& body) {
  try {
    body();
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    return e.what();
  }
  ADD_FAILURE() << "no BadData thrown";
  return "";
}

}  // namespace

TEST(DiscoverDataset, SortsClassesAndSamplesAndWalksSubfolders) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir.path(), {"water", "Forest", "fields"}, 2, 8);
  fs::create_directories(dir / "water/2021/06");
  fs::copy_file(dir / "water/water_0000.png", dir / "water/2021/06/deep.png");
  satx::data::Dataset dataset = discover_dataset(dir.path().string());
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"Forest", "fields", "water"}));  // byte order
  EXPECT_EQ(dataset.class_counts, (std::vector<int64_t>{2, 2, 3}));
  ASSERT_EQ(dataset.samples.size(), 7u);
  EXPECT_EQ(dataset.samples.front().label, 0);
  EXPECT_EQ(dataset.samples.back().label, 2);
  EXPECT_EQ(dataset.samples[4].path, (dir / "water/2021/06/deep.png").string());
  for (size_t i = 1; i < dataset.samples.size(); ++i) {
    const auto& a = dataset.samples[i - 1];
    const auto& b = dataset.samples[i];
    EXPECT_TRUE(a.label < b.label || (a.label == b.label && a.path < b.path));
  }
  EXPECT_EQ(dataset.root, dir.path().string());
}

TEST(DiscoverDataset, SkipsAndCountsHiddenAndNonImageFiles) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir.path(), {"a", "b"}, 12, 8);
  satx::testing::write_text(dir / "a/.DS_Store", "junk");
  satx::testing::write_text(dir / "a/notes.txt", "hello");
  satx::testing::write_text(dir / "b/labels.csv", "x,y");
  fs::create_directories(dir / "b/.thumbnails");
  fs::copy_file(dir / "b/b_0000.png", dir / "b/.thumbnails/b_0000.png");
  fs::create_directories(dir / ".git");
  satx::testing::write_text(dir / "README.md", "about");
  satx::data::Dataset dataset = discover_dataset(dir.path().string());
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(dataset.class_counts, (std::vector<int64_t>{12, 12}));
  EXPECT_EQ(dataset.skipped_hidden, 3);     // .DS_Store, .thumbnails/, .git/
  EXPECT_EQ(dataset.skipped_non_image, 3);  // notes.txt, labels.csv, README.md
  EXPECT_TRUE(dataset.warnings.empty());
}

TEST(DiscoverDataset, WarnsAboutEmptyAndSmallClassesAndLooseImages) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir.path(), {"big"}, 10, 8);
  satx::testing::make_tiny_dataset(dir.path(), {"small"}, 3, 8);
  fs::create_directories(dir / "empty");
  fs::copy_file(dir / "big/big_0000.png", dir / "loose.png");
  satx::data::Dataset dataset = discover_dataset(dir.path().string());
  ASSERT_EQ(dataset.warnings.size(), 3u);
  EXPECT_NE(dataset.warnings[0].find("class 'empty'"), std::string::npos);
  EXPECT_NE(dataset.warnings[0].find("no images"), std::string::npos);
  EXPECT_NE(dataset.warnings[1].find("class 'small'"), std::string::npos);
  EXPECT_NE(dataset.warnings[1].find("only 3 images"), std::string::npos);
  EXPECT_NE(dataset.warnings[2].find("1 image directly in"), std::string::npos);
  EXPECT_EQ(dataset.class_counts, (std::vector<int64_t>{10, 0, 3}));
}

TEST(DiscoverDataset, RejectsMissingRootsAndRootsWithoutClasses) {
  satx::testing::TempDir dir;
  std::string missing = bad_data_message([&] { discover_dataset((dir / "nope").string()); });
  EXPECT_NE(missing.find((dir / "nope").string()), std::string::npos);
  EXPECT_NE(missing.find("does not exist"), std::string::npos);
  satx::testing::write_text(dir / "flat/a.png", "x");
  std::string flat = bad_data_message([&] { discover_dataset((dir / "flat").string()); });
  EXPECT_NE(flat.find("no class folders"), std::string::npos) << flat;
  EXPECT_NE(flat.find("holds 1 image directly"), std::string::npos) << flat;
  satx::testing::write_text(dir / "file.txt", "x");
  EXPECT_NE(bad_data_message([&] { discover_dataset((dir / "file.txt").string()); }).find("not a folder"),
            std::string::npos);
}

TEST(CheckSameClasses, ListsExactlyWhichClassesAreMissingFromWhichSplit) {
  satx::data::Dataset train, valid, test;
  train.classes = {"Forest", "River", "Urban"};
  valid.classes = {"River", "Urban"};
  test.classes = {"Forest", "River", "Sea", "Urban"};
  EXPECT_NO_THROW(satx::data::check_same_classes({&train, &train}, {"train", "valid"}));
  std::string message = bad_data_message([&] {
    satx::data::check_same_classes({&train, &valid, &test}, {"train", "valid", "test"});
  });
  EXPECT_EQ(message,
            "the splits have different classes: class 'Forest' is in train, test but missing from valid; "
            "class 'Sea' is in test but missing from train, valid");
}

TEST(Relabel, ReordersLabelsToTheGivenClassOrder) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir.path(), {"a", "b", "c"}, 2, 8);
  fs::copy_file(dir / "c/c_0000.png", dir / "c/c_0002.png");
  satx::data::Dataset dataset = discover_dataset(dir.path().string());
  satx::data::relabel(dataset, {"c", "a", "b"});
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(dataset.class_counts, (std::vector<int64_t>{3, 2, 2}));
  for (const auto& sample : dataset.samples) {
    std::string folder = fs::path(sample.path).parent_path().filename().string();
    EXPECT_EQ(dataset.classes[static_cast<size_t>(sample.label)], folder);
  }
  EXPECT_EQ(dataset.samples.front().label, 0);

  std::string message = bad_data_message([&] { satx::data::relabel(dataset, {"a", "b", "d"}); });
  EXPECT_NE(message.find("expected but missing: 'd'"), std::string::npos) << message;
  EXPECT_NE(message.find("present but not expected: 'c'"), std::string::npos) << message;
}

TEST(Merge, AddsAFolderWithASubsetOfTheClassesByName) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir / "train", {"a", "b", "c"}, 2, 8, 1);
  satx::testing::make_tiny_dataset(dir / "negatives", {"c"}, 3, 8, 2);
  auto dataset = discover_dataset((dir / "train").string());
  const auto more = discover_dataset((dir / "negatives").string());
  ASSERT_EQ(more.samples.front().label, 0);  // "c" is class 0 of its own folder
  EXPECT_EQ(satx::data::merge(dataset, more), 0);
  EXPECT_EQ(dataset.samples.size(), 9u);
  EXPECT_EQ(dataset.class_counts, (std::vector<int64_t>{2, 2, 5}));
  for (const auto& sample : dataset.samples) {
    const std::string folder = fs::path(sample.path).parent_path().filename().string();
    EXPECT_EQ(dataset.classes[static_cast<size_t>(sample.label)], folder) << sample.path;
  }
  EXPECT_TRUE(std::is_sorted(dataset.samples.begin(), dataset.samples.end(), [](const auto& x, const auto& y) {
    return x.label < y.label;
  }));

  // The same folder again adds nothing.
  EXPECT_EQ(satx::data::merge(dataset, more), 3);
  EXPECT_EQ(dataset.samples.size(), 9u);
}

TEST(Merge, RefusesClassesTheTrainingSetLacks) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir / "train", {"a", "b"}, 2, 8, 1);
  satx::testing::make_tiny_dataset(dir / "more", {"b", "z"}, 2, 8, 2);
  auto dataset = discover_dataset((dir / "train").string());
  const std::string message =
      bad_data_message([&] { satx::data::merge(dataset, discover_dataset((dir / "more").string())); });
  EXPECT_NE(message.find("'z'"), std::string::npos) << message;
  EXPECT_EQ(message.find("'b'"), std::string::npos) << message;
  EXPECT_EQ(dataset.samples.size(), 4u);
}
