#pragma once
/// Folder-per-class datasets: `<root>/<class>/**/<image>`.

#include <cstdint>
#include <string>
#include <vector>

namespace satx::data {

/// One labelled tile.
struct Sample {
  std::string path;
  int64_t label = 0;
};

/// How to discover a dataset.
struct DiscoverOptions {
  /// Classes with fewer images than this are warned about.
  int few_images_warning = 10;
};

/// A discovered split.
struct Dataset {
  std::string root;
  std::vector<std::string> classes;     ///< sorted names; label = index
  std::vector<Sample> samples;          ///< sorted by (label, path)
  std::vector<int64_t> class_counts;    ///< images per class
  int64_t skipped_hidden = 0;           ///< dot-files and dot-folders
  int64_t skipped_non_image = 0;        ///< files without an image extension
  std::vector<std::string> warnings;    ///< empty classes, classes with very few images
};

/// Walks `root`. BadData when it is missing, not a folder, or has no class folder.
Dataset discover_dataset(const std::string& root, const DiscoverOptions& options = {});

/// Checks that splits share one class set; BadData listing exactly which classes are missing
/// from which split. `names` labels the splits ("train", "valid", ...) in the message.
void check_same_classes(const std::vector<const Dataset*>& splits, const std::vector<std::string>& names);

/// Adds the samples of `more` to `dataset`, labelled by class name; `more` may hold a subset of
/// the classes (e.g. a folder of hard negatives). BadData naming the classes of `more` that
/// `dataset` lacks. A file already in `dataset` is not added twice; returns how many were not.
int64_t merge(Dataset& dataset, const Dataset& more);

/// Two-class data whose smaller class is under this share of the training tiles gets satx
/// train's rare-positive recipe (balanced batches, val_ap, a threshold chosen on validation).
inline constexpr double kRarePositiveShare = 0.2;
/// A class under this share of a split's tiles is warned about.
inline constexpr double kMinorityWarningShare = 0.05;

/// Whether `dataset` has two classes, the smaller under `share` of its tiles.
bool is_rare_positive(const Dataset& dataset, double share = kRarePositiveShare);

/// One warning per class under kMinorityWarningShare of `dataset`'s tiles ("class 'x' is 3.0%
/// of the train tiles (530 of 17680): ..."), saying what satx train does about it.
std::vector<std::string> minority_warnings(const Dataset& dataset, const std::string& split,
                                           double rare_share = kRarePositiveShare);

/// Re-labels `dataset` to `classes` (same set, any order), e.g. a model's class order.
/// BadData listing the differences when the sets differ.
void relabel(Dataset& dataset, const std::vector<std::string>& classes);

}  // namespace satx::data
