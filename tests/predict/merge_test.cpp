// predict-merge: shards into one output.
#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/predict/merge.hpp"
#include "support/prediction_rows.hpp"

using namespace satx::testing;
using satx::predict::merge_outputs;
using satx::predict::MergeSummary;

TEST(Merge, ConcatenatesShardsWithOneHeader) {
  TempDir dir;
  for (OutputFormat format : {OutputFormat::Csv, OutputFormat::GeoJson}) {
    const std::string ext = "." + format_name(format);
    std::vector<fs::path> shards = {dir / ("a" + ext), dir / ("b" + ext)};
    {
      PredictionWriter a(shards[0], layout_for(format));
      write_rows(a, 0, 4);
      a.finish();
      PredictionWriter b(shards[1], layout_for(format));
      write_rows(b, 4, 7);
      b.finish();
      ErrorLog errors(error_log_path(shards[1]));
      errors.add({"broken.jpg", "truncated"});
    }
    const fs::path merged = dir / ("all" + ext);
    MergeSummary summary = merge_outputs(shards, merged);
    EXPECT_EQ(summary.records, 7);
    EXPECT_EQ(summary.errors, 1);
    auto paths = stored_paths(merged, format);
    ASSERT_EQ(paths.size(), 7u);
    for (int i = 0; i < 7; ++i) EXPECT_EQ(paths[static_cast<size_t>(i)], path_of(i));
    if (format == OutputFormat::Csv) {
      std::string text = read_text(merged);
      EXPECT_EQ(text.find("path,label"), 0u);
      EXPECT_EQ(text.find("path,label", 1), std::string::npos);
    } else {
      EXPECT_EQ(nlohmann::json::parse(read_text(merged))["features"].size(), 7u);
    }
    EXPECT_NE(read_text(error_log_path(merged)).find("broken.jpg\ttruncated"), std::string::npos);
  }
}

TEST(Merge, RejectsOverlapsAndUnfinishedShards) {
  TempDir dir;
  std::vector<fs::path> shards = {dir / "a.csv", dir / "b.csv"};
  {
    PredictionWriter a(shards[0], layout_for(OutputFormat::Csv));
    write_rows(a, 0, 4);
    a.finish();
    PredictionWriter b(shards[1], layout_for(OutputFormat::Csv));
    write_rows(b, 3, 6);  // tile 3 is in both
    b.finish();
  }
  try {
    merge_outputs(shards, dir / "all.csv");
    FAIL() << "merged overlapping shards";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find("plain_3"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "all.csv"));
  write_text(shards[1], "path,label,score,z,x,y,building,\"no,building\"\nx.png,building,0.5");
  EXPECT_THROW(merge_outputs(shards, dir / "all.csv"), satx::Error);
}
