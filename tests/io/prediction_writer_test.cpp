#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "satx/core/error.hpp"
#include "satx/io/prediction_reader.hpp"
#include "satx/io/prediction_writer.hpp"
#include "support/prediction_rows.hpp"
#include "support/test_support.hpp"

using namespace satx::io;
using satx::testing::read_text;
using satx::testing::TempDir;
using satx::testing::write_text;
namespace fs = std::filesystem;

using namespace satx::testing;

TEST(CsvField, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("plain/path.jpg"), "plain/path.jpg");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(FormatRecord, WritesCsvColumnsAndTopK) {
  float p[2] = {0.25f, 0.75f};
  PredictionRow row{"tiles/12/5/7.png", 1, 0.75f, p, TileXYZ{12, 5, 7}};
  OutputLayout layout = layout_for(OutputFormat::Csv);
  EXPECT_EQ(csv_header(layout), "path,label,score,z,x,y,building,\"no,building\"\n");
  EXPECT_EQ(format_record(row, layout), "tiles/12/5/7.png,\"no,building\",0.75,12,5,7,0.25,0.75\n");
  layout.topk = 1;
  layout.tile_columns = false;
  EXPECT_EQ(csv_header(layout), "path,label,score,top1_label,top1_score\n");
  EXPECT_EQ(format_record(row, layout), "tiles/12/5/7.png,\"no,building\",0.75,\"no,building\",0.75\n");
  EXPECT_EQ(csv_column_count(layout), 5u);
}

TEST(FormatRecord, WritesGeoJsonFootprint) {
  float p[2] = {0.9f, 0.1f};
  PredictionRow row{"1/0/0.png", 0, 0.9f, p, TileXYZ{1, 0, 0}};
  auto feature = nlohmann::json::parse(format_record(row, layout_for(OutputFormat::GeoJson)));
  EXPECT_EQ(feature["type"], "Feature");
  EXPECT_EQ(feature["geometry"]["type"], "Polygon");
  const auto& ring = feature["geometry"]["coordinates"][0];
  ASSERT_EQ(ring.size(), 5u);
  EXPECT_EQ(ring[0], ring[4]);
  EXPECT_DOUBLE_EQ(ring[0][0].get<double>(), -180.0);
  EXPECT_NEAR(ring[2][1].get<double>(), 85.0511288, 1e-6);
  EXPECT_EQ(feature["properties"]["path"], "1/0/0.png");
  EXPECT_EQ(feature["properties"]["z"], 1);
  EXPECT_FLOAT_EQ(feature["properties"]["probabilities"]["building"].get<float>(), 0.9f);
  row.tile.reset();
  feature = nlohmann::json::parse(format_record(row, layout_for(OutputFormat::GeoJson)));
  EXPECT_TRUE(feature["geometry"].is_null());
}

TEST(PredictionWriter, GeoJsonIsValidAtEveryCheckpoint) {
  TempDir dir;
  const fs::path file = dir / "out.geojson";
  PredictionWriter writer(file, layout_for(OutputFormat::GeoJson));
  write_rows(writer, 0, 4);
  writer.flush();
  auto doc = nlohmann::json::parse(read_text(file));
  EXPECT_EQ(doc["features"].size(), 4u);
  write_rows(writer, 4, 7);
  writer.finish();
  doc = nlohmann::json::parse(read_text(file));
  ASSERT_EQ(doc["features"].size(), 7u);
  EXPECT_EQ(doc["features"][1]["properties"]["path"], path_of(1));
}

// The property -resume relies on: whatever byte a kill stops at, scanning keeps exactly the
// complete records, and resuming appends the rest once.
TEST(Resume, TornTailAtAnyByteIsCutAndCompletedOnce) {
  for (OutputFormat format : {OutputFormat::Csv, OutputFormat::Jsonl, OutputFormat::GeoJson}) {
    const OutputLayout layout = layout_for(format);
    float p[2] = {0.25f, 0.75f};
    PredictionRow next_row{path_of(6), 0, 0.25f, p, std::nullopt};
    const std::string next = (format == OutputFormat::GeoJson ? "," : "") + format_record(next_row, layout);
    for (size_t bytes = 0; bytes < next.size(); ++bytes) {
      TempDir dir;
      const fs::path file = dir / ("out." + format_name(format));
      {
        PredictionWriter writer(file, layout);
        write_rows(writer, 0, 6);
        writer.finish();
      }
      tear(file, format, next, bytes);
      OutputScan scan;
      auto kept = stored_paths(file, format, &scan);
      ASSERT_EQ(kept.size(), 6u) << format_name(format) << " torn after " << bytes << " bytes";
      {
        PredictionWriter writer(file, layout, &scan);
        write_rows(writer, 6, 9);
        writer.finish();
      }
      auto all = stored_paths(file, format, &scan);
      ASSERT_EQ(all.size(), 9u) << format_name(format) << " torn after " << bytes << " bytes";
      for (int i = 0; i < 9; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], path_of(i));
      EXPECT_EQ(scan.valid_bytes + (format == OutputFormat::GeoJson ? 3 : 0), scan.file_bytes);
      if (format == OutputFormat::GeoJson) EXPECT_EQ(nlohmann::json::parse(read_text(file))["features"].size(), 9u);
    }
  }
}

TEST(Resume, RefusesFilesBrokenInTheMiddle) {
  TempDir dir;
  const fs::path file = dir / "out.jsonl";
  {
    PredictionWriter writer(file, layout_for(OutputFormat::Jsonl));
    write_rows(writer, 0, 3);
    writer.finish();
  }
  std::string text = read_text(file);
  text.insert(text.find('\n') + 1, "garbage\n");
  write_text(file, text);
  try {
    scan_output(file, OutputFormat::Jsonl, {});
    FAIL() << "accepted a malformed line followed by valid ones";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(ErrorLog, EscapesAndResumesWithoutDuplicates) {
  TempDir dir;
  const fs::path log = dir / "out.csv.errors";
  {
    ErrorLog errors(log);
    errors.add({"bad\tname.jpg", "truncated JPEG\n(premature end)"});
    errors.add({"plain.png", "not an image"});
    errors.flush();
  }
  write_text(log, read_text(log) + "torn-without-newline");
  std::vector<ErrorEntry> entries;
  OutputScan scan = scan_error_log(log, [&](ErrorEntry&& e) { entries.push_back(e); });
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].path, "bad\tname.jpg");
  EXPECT_EQ(entries[0].reason, "truncated JPEG\n(premature end)");
  {
    ErrorLog resumed(log, &scan);
    EXPECT_EQ(read_text(log).find("torn"), std::string::npos) << "the torn line is cut even before new entries";
    resumed.add({"third.tif", "unsupported"});
  }
  entries.clear();
  scan_error_log(log, [&](ErrorEntry&& e) { entries.push_back(e); });
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].path, "third.tif");
  // A fresh run removes the stale log.
  ErrorLog fresh(log);
  EXPECT_FALSE(fs::exists(log));
}
