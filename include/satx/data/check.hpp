#pragma once
/// The dataset linter behind `satx data check`: class counts per split, unreadable files,
/// exact duplicates (leakage across splits), formats, imbalance. Returns a report; prints nothing.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "satx/core/context.hpp"
#include "satx/data/loader.hpp"

namespace satx::data {

/// How to check.
struct CheckOptions {
  /// Classes with fewer images than this are warned about.
  int few_images_warning = 10;
  /// A split whose largest class has more than this many times the images of its smallest is
  /// warned about.
  double imbalance_warning = 10.0;
  /// Called on the calling thread with (files done, files total) while scanning.
  std::function<void(int64_t, int64_t)> progress;
};

/// One split as found on disk.
struct CheckedSplit {
  std::string name;                   ///< "train", "valid", ... or the folder's name
  std::string root;
  std::vector<std::string> classes;   ///< sorted
  std::vector<int64_t> class_counts;  ///< image files per class (readable or not)
  int64_t images = 0;
  int64_t skipped_hidden = 0;
  int64_t skipped_non_image = 0;
  double imbalance = 0;               ///< largest / smallest non-empty class (0 with no images)
};

/// Files with identical bytes.
struct DuplicateGroup {
  std::vector<std::string> paths;   ///< sorted
  std::vector<std::string> splits;  ///< split of each path
  std::vector<std::string> classes; ///< class of each path
  bool across_splits = false;       ///< the same image in two splits: leakage
  int64_t bytes = 0;
};

/// How many images share one shape and format ("64x64, 3 channels, 8-bit jpeg").
struct FormatCount {
  std::string description;
  int64_t count = 0;
};

/// Everything `satx data check` reports.
struct CheckReport {
  std::vector<CheckedSplit> splits;
  std::vector<std::string> classes;  ///< union over the splits, sorted
  int64_t images = 0;                ///< image files over all splits
  std::vector<BadFile> corrupt;      ///< unreadable files, with the reason
  std::vector<DuplicateGroup> duplicates;
  std::vector<FormatCount> formats;  ///< most common first
  std::vector<std::string> errors;   ///< corrupt files, leakage, class sets that differ
  std::vector<std::string> warnings; ///< few images, duplicates within a split, imbalance, mixed shapes
  /// No errors (the CLI exits 0; otherwise 3).
  bool ok() const { return errors.empty(); }
};

/// Resolves `folders` into named splits: a folder whose sub-folders are all split names
/// (train, training, valid, val, validation, test, testing) is a set of splits; any other folder
/// is one folder-per-class split named after itself. Throws BadData for a missing folder.
std::vector<std::pair<std::string, std::string>> resolve_splits(const std::vector<std::string>& folders);

/// Scans every image of every split on `context.threads` workers: reads, hashes and decodes
/// each file once.
CheckReport check_dataset(const std::vector<std::string>& folders, const CheckOptions& options, const Context& context);

/// The report as JSON text (`satx data check -json=FILE`).
std::string check_report_json(const CheckReport& report);

}  // namespace satx::data
