// The dataset linter (library and `satx data check`), on generated fixtures and on EuroSAT.
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "satx/data/check.hpp"
#include "satx/io/image.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;

namespace {

satx::Context quiet_context() {
  satx::Context context;
  context.threads = 2;
  context.log = satx::null_logger();
  return context;
}

// train/valid/test of classes a, b, c (distinct seeds, so no accidental duplicates), plus the
// awkward files of the acceptance list in train/a.
void make_split_fixture(const fs::path& root) {
  unsigned seed = 1;
  for (const char* split : {"train", "valid", "test"})
    satx::testing::make_tiny_dataset(root / split, {"a", "b", "c"}, 4, 16, seed++);
  fs::path odd = root / "train/a";
  cv::Mat bgr(16, 16, CV_8UC3);
  cv::randu(bgr, 0, 255);
  cv::imwrite((odd / "whole.jpg").string(), bgr);
  std::string jpeg = satx::testing::read_text(odd / "whole.jpg");
  satx::testing::write_text(odd / "truncated.jpg", jpeg.substr(0, jpeg.size() / 2));
  fs::remove(odd / "whole.jpg");
  satx::testing::write_text(odd / "zero.jpg", "");
  satx::testing::write_text(odd / "text.jpg", "this is a text file\n");
  cv::Mat deep(16, 16, CV_16UC3);
  cv::randu(deep, 0, 10000);
  cv::imwrite((odd / "deep16.png").string(), deep);
  cv::Mat rgba(16, 16, CV_8UC4, cv::Scalar(10, 20, 30, 255));
  cv::imwrite((odd / "rgba.png").string(), rgba);
  cv::Mat bands(16, 16, CV_16UC4);
  cv::randu(bands, 0, 10000);
  satx::io::write_tiff((odd / "four_band.tif").string(), bands);
}

}  // namespace

TEST(CheckDataset, FindsSplitsCountsAndEveryBadFileByName) {
  satx::testing::TempDir dir;
  make_split_fixture(dir.path());
  std::vector<int64_t> progress;
  satx::data::CheckOptions options;
  options.progress = [&](int64_t done, int64_t total) {
    progress.push_back(done);
    EXPECT_EQ(total, 42);
  };
  satx::data::CheckReport report = satx::data::check_dataset({dir.path().string()}, options, quiet_context());
  ASSERT_EQ(report.splits.size(), 3u);
  EXPECT_EQ(report.splits[0].name, "train");
  EXPECT_EQ(report.splits[1].name, "valid");
  EXPECT_EQ(report.splits[2].name, "test");
  EXPECT_EQ(report.splits[0].class_counts, (std::vector<int64_t>{10, 4, 4}));
  EXPECT_EQ(report.images, 42);
  EXPECT_EQ(progress.back(), 42);
  EXPECT_EQ(report.classes, (std::vector<std::string>{"a", "b", "c"}));

  ASSERT_EQ(report.corrupt.size(), 3u);
  std::map<std::string, std::string> reasons;
  for (const auto& bad : report.corrupt) reasons[fs::path(bad.path).filename().string()] = bad.reason;
  EXPECT_NE(reasons["truncated.jpg"].find("truncated JPEG"), std::string::npos);
  EXPECT_NE(reasons["zero.jpg"].find("empty file"), std::string::npos);
  EXPECT_NE(reasons["text.jpg"].find("not an image"), std::string::npos);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.errors.size(), 3u);

  std::map<std::string, int64_t> formats;
  for (const auto& format : report.formats) formats[format.description] = format.count;
  EXPECT_EQ(formats["16x16, 3 channels, 8-bit png"], 36);
  EXPECT_EQ(formats["16x16, 3 channels, 16-bit png"], 1);
  EXPECT_EQ(formats["16x16, 4 channels, 8-bit png"], 1);
  EXPECT_EQ(formats["16x16, 4 channels, 16-bit tiff"], 1);
  // The 4-band TIFF is valid, but a 3-channel model cannot read it: a warning says so.
  bool warned = false;
  for (const auto& warning : report.warnings)
    if (warning.find("four_band.tif cannot be loaded with 3 channels") != std::string::npos) warned = true;
  EXPECT_TRUE(warned);
}

TEST(CheckDataset, ReportsDuplicatesWithinAndAcrossSplits) {
  satx::testing::TempDir dir;
  unsigned seed = 1;
  for (const char* split : {"train", "valid"})
    satx::testing::make_tiny_dataset(dir / split, {"a", "b"}, 3, 8, seed++);
  fs::copy_file(dir / "train/a/a_0000.png", dir / "valid/b/leak.png");
  fs::copy_file(dir / "train/b/b_0001.png", dir / "train/b/again.png");
  satx::data::CheckReport report =
      satx::data::check_dataset({(dir / "train").string(), (dir / "valid").string()}, {}, quiet_context());
  ASSERT_EQ(report.duplicates.size(), 2u);
  int across = 0;
  for (const auto& group : report.duplicates) {
    EXPECT_EQ(group.paths.size(), 2u);
    if (group.across_splits) {
      ++across;
      EXPECT_EQ(group.splits, (std::vector<std::string>{"train", "valid"}));
      EXPECT_EQ(group.classes, (std::vector<std::string>{"a", "b"}));
    }
  }
  EXPECT_EQ(across, 1);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].find("the same image is in train and valid (leakage)"), std::string::npos) << report.errors[0];
  EXPECT_NE(report.errors[0].find("leak.png"), std::string::npos);
}

TEST(CheckDataset, ReportsSplitsWithDifferentClasses) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir / "train", {"Forest", "River"}, 2, 8, 1);
  satx::testing::make_tiny_dataset(dir / "valid", {"River"}, 2, 8, 2);
  satx::data::CheckReport report = satx::data::check_dataset({dir.path().string()}, {}, quiet_context());
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].find("class 'Forest' is in train but missing from valid"), std::string::npos);
}

TEST(DataCheckCommand, ExitsThreeListingBadFilesAndWritesErrorsAndJson) {
  satx::testing::TempDir dir;
  make_split_fixture(dir / "data");
  auto result = satx::testing::run_satx("data check -data=" + (dir / "data").string() + " -errors=" +
                                        (dir / "errors.tsv").string() + " -json=" + (dir / "report.json").string());
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_NE(result.out.find("3 splits, 3 classes, 42 images"), std::string::npos) << result.out;
  for (const char* name : {"truncated.jpg", "zero.jpg", "text.jpg"}) {
    EXPECT_NE(result.out.find(name), std::string::npos) << name;
    EXPECT_NE(satx::testing::read_text(dir / "errors.tsv").find((dir / "data/train/a" / name).string() + "\t"),
              std::string::npos);
  }
  EXPECT_NE(result.out.find("16-bit png"), std::string::npos);
  EXPECT_NE(result.out.find("16-bit tiff"), std::string::npos);
  EXPECT_NE(result.out.find("result: FAILED"), std::string::npos);
  nlohmann::json json = nlohmann::json::parse(satx::testing::read_text(dir / "report.json"));
  EXPECT_EQ(json["images"], 42);
  EXPECT_EQ(json["corrupt"].size(), 3u);
  EXPECT_EQ(json["ok"], false);

  // Without the bad files the same dataset passes.
  for (const char* name : {"truncated.jpg", "zero.jpg", "text.jpg"}) fs::remove(dir / "data/train/a" / name);
  result = satx::testing::run_satx("data check -q -data=" + (dir / "data").string());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("result: OK"), std::string::npos);
}

TEST(DataCheckCommand, NeedsItsSubcommandAndAnExistingFolder) {
  EXPECT_EQ(satx::testing::run_satx("data").exit_code, 2);
  auto missing = satx::testing::run_satx("data check -data=/nonexistent/folder");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("/nonexistent/folder"), std::string::npos) << missing.err;
}

TEST(DataCheckCommand, CountsEuroSatTrain) {
  SATX_REQUIRE_SHARED(shared);
  auto result = satx::testing::run_satx("data check -q -data=" + (shared / "data/eurosat/train").string());
  EXPECT_NE(result.out.find("1 split, 10 classes, 18,900 images"), std::string::npos) << result.out << result.err;
  EXPECT_NE(result.out.find("18,900  64x64, 3 channels, 8-bit jpeg"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("unreadable files (0): none"), std::string::npos) << result.out;
}

TEST(CheckDataset, WarnsAboutAMinorityClassAndSaysWhatTrainingDoes) {
  satx::testing::TempDir dir;
  // Two classes, 'tower' 2 of 62 tiles (3.2%): the rare-positive case.
  satx::testing::make_tiny_dataset(dir / "train", {"background", "tower"}, 60, 16, 1);
  for (int i = 2; i < 60; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "tower_%04d.png", i);
    fs::remove(dir / "train/tower" / name);
  }
  const auto report = satx::data::check_dataset({(dir / "train").string()}, {}, quiet_context());
  bool warned = false;
  for (const auto& warning : report.warnings)
    if (warning.find("class 'tower' is only 3.2% of the train tiles (2 of 62)") != std::string::npos) {
      warned = true;
      EXPECT_NE(warning.find("rare-positive"), std::string::npos) << warning;
    }
  EXPECT_TRUE(warned);

  // Ten classes, one under 5%: trained like the others, and the warning says how to weigh it.
  satx::testing::TempDir many;
  std::vector<std::string> classes;
  for (char c = 'a'; c <= 'j'; ++c) classes.push_back(std::string(1, c));
  satx::testing::make_tiny_dataset(many / "train", classes, 5, 16, 1);
  for (int i = 1; i < 5; ++i) fs::remove(many / "train/j" / ("j_000" + std::to_string(i) + ".png"));
  const auto ten = satx::data::check_dataset({(many / "train").string()}, {}, quiet_context());
  warned = false;
  for (const auto& warning : ten.warnings)
    if (warning.find("class 'j' is only 2.2%") != std::string::npos) {
      warned = true;
      EXPECT_NE(warning.find("-sampler=balanced"), std::string::npos) << warning;
    }
  EXPECT_TRUE(warned);
}

// Special files named like tiles: a FIFO must not block the check (it would wait for a writer
// forever) and, like a folder named x.jpg, is reported by name rather than skipped.
TEST(CheckDataset, ReportsAFifoNamedLikeATileWithoutBlocking) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir / "train", {"a", "b"}, 3, 16, 4);
  const fs::path fifo = dir / "train/a/pipe.jpg";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto report = satx::data::check_dataset({(dir / "train").string()}, {}, quiet_context());
  ASSERT_EQ(report.corrupt.size(), 1u);
  EXPECT_EQ(report.corrupt[0].path, fifo.string());
  EXPECT_NE(report.corrupt[0].reason.find("FIFO"), std::string::npos) << report.corrupt[0].reason;
  EXPECT_FALSE(report.ok());
}
