#pragma once
// Rows, layouts and torn files for the prediction writer, reader and merge tests.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "satx/io/prediction_reader.hpp"
#include "satx/io/prediction_writer.hpp"
#include "support/test_support.hpp"

namespace satx::testing {

using namespace satx::io;
namespace fs = std::filesystem;

inline const std::vector<std::string> kClasses = {"building", "no,building"};

inline OutputLayout layout_for(OutputFormat format, int topk = 0) {
  OutputLayout layout;
  layout.format = format;
  layout.classes = kClasses;
  layout.topk = topk;
  layout.tile_columns = true;
  return layout;
}

inline std::string path_of(int i) {
  // Every few paths carry characters CSV must quote, and some encode slippy-map tiles.
  if (i % 5 == 1) return "odd/na,me \"" + std::to_string(i) + "\".png";
  if (i % 5 == 2) return "tiles/12/" + std::to_string(i) + "/7.png";
  return "tiles/plain_" + std::to_string(i) + ".jpg";
}

inline void write_rows(PredictionWriter& writer, int from, int to, int flush_every = 0) {
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

inline std::vector<std::string> stored_paths(const fs::path& file, OutputFormat format, OutputScan* scan_out = nullptr) {
  std::vector<std::string> paths;
  OutputScan scan = scan_output(file, format, [&](StoredRecord&& r) { paths.push_back(r.path); });
  if (scan_out) *scan_out = scan;
  return paths;
}

// What a kill leaves: the checkpointed file plus the first `bytes` of what came next. For
// GeoJSON the next bytes overwrite the closing line, as the writer's seek-back does.
inline void tear(const fs::path& file, OutputFormat format, const std::string& next, size_t bytes) {
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


}  // namespace satx::testing
