#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "satx/core/error.hpp"
#include "satx/predict/merge.hpp"
#include "satx/predict/resume.hpp"
#include "satx/predict/writer.hpp"
#include "support/test_support.hpp"

using namespace satx::predict;
using satx::testing::read_text;
using satx::testing::TempDir;
using satx::testing::write_text;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kClasses = {"building", "no,building"};

OutputLayout layout_for(OutputFormat format, int topk = 0) {
  OutputLayout layout;
  layout.format = format;
  layout.classes = kClasses;
  layout.topk = topk;
  layout.tile_columns = true;
  return layout;
}

std::string path_of(int i) {
  // Every few paths carry characters CSV must quote, and some encode slippy-map tiles.
  if (i % 5 == 1) return "odd/na,me \"" + std::to_string(i) + "\".png";
  if (i % 5 == 2) return "tiles/12/" + std::to_string(i) + "/7.png";
  return "tiles/plain_" + std::to_string(i) + ".jpg";
}

void write_rows(PredictionWriter& writer, int from, int to, int flush_every = 0) {
  for (int i = from; i < to; ++i) {
    float p[2] = {0.25f, 0.75f};
    PredictionRow row;
    row.path = path_of(i);
    row.label = i % 2;
    row.probabilities = p;
    row.score = p[row.label];
    row.tile = parse_tile_path(row.path);
    writer.write(row);
    if (flush_every && (i + 1) % flush_every == 0) writer.flush();
  }
}

std::vector<std::string> stored_paths(const fs::path& file, OutputFormat format, OutputScan* scan_out = nullptr) {
  std::vector<std::string> paths;
  OutputScan scan = scan_output(file, format, [&](StoredRecord&& r) { paths.push_back(r.path); });
  if (scan_out) *scan_out = scan;
  return paths;
}

// What a kill leaves: the checkpointed file plus the first `bytes` of what came next. For
// GeoJSON the next bytes overwrite the closing line, as the writer's seek-back does.
void tear(const fs::path& file, OutputFormat format, const std::string& next, size_t bytes) {
  std::string text = read_text(file);
  std::string partial = next.substr(0, bytes);
  if (format == OutputFormat::GeoJson) {
    size_t at = text.size() - 3;
    for (size_t i = 0; i < partial.size(); ++i) {
      if (at + i < text.size())
        text[at + i] = partial[i];
      else
        text += partial[i];
    }
  } else {
    text += partial;
  }
  write_text(file, text);
}

}  // namespace

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
