#pragma once
/// A small synthetic folder-per-class dataset (`satx sample-data`): each class a distinct
/// texture and colour with per-tile randomness and noise, so a model learns it in a minute on
/// a CPU and a new user can try every command without downloading anything.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace satx::data {

/// What to generate.
struct SampleOptions {
  /// Number of classes, 2..8, taken in order from sample_class_names().
  int classes = 3;
  /// Tiles per class over all splits: 70% train, 15% valid, 15% test (at least one each).
  int per_class = 100;
  /// Tile side in pixels (16..1024).
  int size = 64;
  uint64_t seed = 42;
  /// "jpg" or "png".
  std::string format = "jpg";
};

/// What was written.
struct SampleSummary {
  std::vector<std::string> classes;
  std::vector<std::pair<std::string, int64_t>> splits;  ///< ("train", tiles), ("valid", ...), ("test", ...)
  int64_t files = 0;
};

/// The class names in the order they are used: fields, forest, water, urban, desert, snow,
/// clouds, roads.
const std::vector<std::string>& sample_class_names();

/// Writes `<out>/{train,valid,test}/<class>/<class>_NNNN.<format>`. The same options give the
/// same files. Throws Usage for bad options or an `out` folder that exists and is not empty,
/// Runtime when a file cannot be written.
SampleSummary write_sample_dataset(const std::string& out, const SampleOptions& options);

}  // namespace satx::data
