#pragma once
/// The prediction formats (CSV, JSONL, GeoJSON): their columns and how one row is written.
/// docs/predict.md describes them for users.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "satx/io/georef.hpp"

namespace satx::io {

/// How predictions are written.
enum class OutputFormat { Csv, Jsonl, GeoJson };

/// "csv", "jsonl" or "geojson"; a Usage error naming `name` otherwise.
OutputFormat parse_output_format(const std::string& name);

/// The format an output path implies by its extension (.csv, .jsonl/.ndjson, .geojson);
/// a Usage error naming the path when the extension says nothing ("-" means CSV).
OutputFormat format_from_path(const std::string& path);

/// "csv", "jsonl" or "geojson".
std::string format_name(OutputFormat format);

/// What each row holds, fixed for the whole output (so shards and resumed runs agree).
struct OutputLayout {
  OutputFormat format = OutputFormat::Csv;
  /// The model's classes, in logit order.
  std::vector<std::string> classes;
  /// 0: every class probability; K > 0: the K most probable labels with their scores.
  int topk = 0;
  /// CSV: z,x,y columns (empty for tiles without coordinates). JSON formats add the keys to
  /// georeferenced rows only, so this flag does not affect them.
  bool tile_columns = false;
};

/// One scored tile.
struct PredictionRow {
  std::string path;
  int64_t label = 0;                   ///< decided label (index into classes)
  float score = 0;                     ///< probability of `label`
  const float* probabilities = nullptr;  ///< classes.size() probabilities
  std::optional<TileXYZ> tile;         ///< from the file name, when it encodes one
};

/// The CSV header line for `layout`, with its newline:
/// `path,label,score[,z,x,y],<class...>` or `...,top1_label,top1_score,...`.
std::string csv_header(const OutputLayout& layout);

/// Number of CSV columns for `layout`.
size_t csv_column_count(const OutputLayout& layout);

/// One record with its trailing newline. CSV: a row (fields quoted when they hold a comma,
/// quote, CR or LF); JSONL: one object; GeoJSON: one Feature object (the writer adds the
/// separators), whose geometry is the tile footprint polygon or null.
std::string format_record(const PredictionRow& row, const OutputLayout& layout);

/// A CSV field, quoted when needed (RFC 4180).
std::string csv_field(const std::string& text);

/// A JSON string literal for `text` (invalid UTF-8 replaced by U+FFFD).
std::string json_string(const std::string& text);

/// The path as a reader of the output sees it after a round trip: itself for CSV, with
/// invalid UTF-8 replaced for the JSON formats. Resume compares inputs in this form.
std::string path_as_written(const std::string& path, OutputFormat format);

/// The first line of a GeoJSON output.
inline constexpr const char* kGeoJsonHeader = "{\"type\":\"FeatureCollection\",\"features\":[\n";
/// The closing line of a GeoJSON output.
inline constexpr const char* kGeoJsonTrailer = "]}\n";

}  // namespace satx::io
