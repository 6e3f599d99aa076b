#include "satx/io/prediction_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "satx/core/error.hpp"

namespace satx::io {

namespace {

const std::vector<std::string> kFormatNames = {"csv", "jsonl", "geojson"};

std::string lowercase_extension(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// Six significant digits: probabilities are float32 and rarely meaningful beyond that.
void append_number(std::string& out, double value, bool json) {
  if (!std::isfinite(value)) {
    out += json ? "null" : "nan";
    return;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  out += text;
}

void append_coordinate(std::string& out, double lon, double lat) {
  char text[64];
  std::snprintf(text, sizeof text, "[%.9g,%.9g]", lon, lat);
  out += text;
}

std::vector<int64_t> top_indices(const float* probabilities, size_t classes, int k) {
  std::vector<int64_t> order(classes);
  std::iota(order.begin(), order.end(), 0);
  const size_t keep = std::min(classes, static_cast<size_t>(k));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    [&](int64_t a, int64_t b) {
                      return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
                    });
  order.resize(keep);
  return order;
}

// The JSON members shared by JSONL objects and GeoJSON properties (without braces).
std::string json_members(const PredictionRow& row, const OutputLayout& layout) {
  std::string out = "\"path\":" + json_string(row.path);
  out += ",\"label\":" + json_string(layout.classes.at(static_cast<size_t>(row.label)));
  out += ",\"score\":";
  append_number(out, row.score, true);
  if (row.tile) {
    out += ",\"z\":" + std::to_string(row.tile->z) + ",\"x\":" + std::to_string(row.tile->x) +
           ",\"y\":" + std::to_string(row.tile->y);
  }
  if (layout.topk > 0) {
    out += ",\"top\":[";
    bool first = true;
    for (int64_t index : top_indices(row.probabilities, layout.classes.size(), layout.topk)) {
      if (!first) out += ',';
      first = false;
      out += "{\"label\":" + json_string(layout.classes[static_cast<size_t>(index)]) + ",\"score\":";
      append_number(out, row.probabilities[index], true);
      out += '}';
    }
    out += ']';
  } else {
    out += ",\"probabilities\":{";
    for (size_t c = 0; c < layout.classes.size(); ++c) {
      if (c) out += ',';
      out += json_string(layout.classes[c]) + ':';
      append_number(out, row.probabilities[c], true);
    }
    out += '}';
  }
  return out;
}

}  // namespace

OutputFormat parse_output_format(const std::string& name) {
  if (name == "csv") return OutputFormat::Csv;
  if (name == "jsonl" || name == "ndjson") return OutputFormat::Jsonl;
  if (name == "geojson") return OutputFormat::GeoJson;
  throw_usage(unknown_value_message("-format", name, kFormatNames));
}

OutputFormat format_from_path(const std::string& path) {
  if (path == "-") return OutputFormat::Csv;
  const std::string ext = lowercase_extension(path);
  if (ext == "csv") return OutputFormat::Csv;
  if (ext == "jsonl" || ext == "ndjson") return OutputFormat::Jsonl;
  if (ext == "geojson") return OutputFormat::GeoJson;
  throw_usage("cannot tell the output format of '" + path +
              "' from its extension (.csv, .jsonl, .ndjson, .geojson); add -format=csv|jsonl|geojson");
}

std::string format_name(OutputFormat format) {
  switch (format) {
    case OutputFormat::Csv: return "csv";
    case OutputFormat::Jsonl: return "jsonl";
    case OutputFormat::GeoJson: return "geojson";
  }
  return "csv";
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

std::string json_string(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string path_as_written(const std::string& path, OutputFormat format) {
  if (format == OutputFormat::Csv) return path;
  return nlohmann::json::parse(json_string(path)).get<std::string>();
}

size_t csv_column_count(const OutputLayout& layout) {
  return 3 + (layout.tile_columns ? 3 : 0) +
         (layout.topk > 0 ? 2 * std::min(layout.classes.size(), static_cast<size_t>(layout.topk)) : layout.classes.size());
}

std::string csv_header(const OutputLayout& layout) {
  std::string out = "path,label,score";
  if (layout.tile_columns) out += ",z,x,y";
  if (layout.topk > 0) {
    const size_t keep = std::min(layout.classes.size(), static_cast<size_t>(layout.topk));
    for (size_t k = 1; k <= keep; ++k) out += ",top" + std::to_string(k) + "_label,top" + std::to_string(k) + "_score";
  } else {
    for (const auto& name : layout.classes) out += ',' + csv_field(name);
  }
  return out + '\n';
}

std::string format_record(const PredictionRow& row, const OutputLayout& layout) {
  std::string out;
  out.reserve(64 + 16 * layout.classes.size() + row.path.size());
  switch (layout.format) {
    case OutputFormat::Csv: {
      out += csv_field(row.path);
      out += ',';
      out += csv_field(layout.classes.at(static_cast<size_t>(row.label)));
      out += ',';
      append_number(out, row.score, false);
      if (layout.tile_columns) {
        if (row.tile)
          out += ',' + std::to_string(row.tile->z) + ',' + std::to_string(row.tile->x) + ',' + std::to_string(row.tile->y);
        else
          out += ",,,";
      }
      if (layout.topk > 0) {
        for (int64_t index : top_indices(row.probabilities, layout.classes.size(), layout.topk)) {
          out += ',' + csv_field(layout.classes[static_cast<size_t>(index)]) + ',';
          append_number(out, row.probabilities[index], false);
        }
      } else {
        for (size_t c = 0; c < layout.classes.size(); ++c) {
          out += ',';
          append_number(out, row.probabilities[c], false);
        }
      }
      break;
    }
    case OutputFormat::Jsonl:
      out += '{' + json_members(row, layout) + '}';
      break;
    case OutputFormat::GeoJson: {
      out += "{\"type\":\"Feature\",\"geometry\":";
      if (row.tile) {
        const LonLatBounds b = tile_bounds(*row.tile);
        // Counter-clockwise exterior ring, as RFC 7946 asks.
        out += "{\"type\":\"Polygon\",\"coordinates\":[[";
        append_coordinate(out, b.west, b.south);
        out += ',';
        append_coordinate(out, b.east, b.south);
        out += ',';
        append_coordinate(out, b.east, b.north);
        out += ',';
        append_coordinate(out, b.west, b.north);
        out += ',';
        append_coordinate(out, b.west, b.south);
        out += "]]}";
      } else {
        out += "null";
      }
      out += ",\"properties\":{" + json_members(row, layout) + "}}";
      break;
    }
  }
  out += '\n';
  return out;
}

}  // namespace satx::io
