#include "satx/data/dataset.hpp"
#include "satx/core/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/io/image.hpp"

namespace fs = std::filesystem;

namespace satx::data {

namespace {

bool is_hidden(const fs::path& path) {
  std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// Every image under one class folder, at any depth; hidden entries and other files are counted.
// A subfolder that cannot be listed is kept as a sample, so reading it fails with its reason in
// every report instead of the folder vanishing.
std::vector<std::string> walk_class(const fs::path& folder, Dataset& dataset) {
  std::vector<std::string> images;
  walk_tree(folder, [&](const fs::path& path, TreeEntry entry) {
    if (entry == TreeEntry::Hidden) ++dataset.skipped_hidden;
    else if (entry == TreeEntry::Unlistable || io::has_image_extension(path.string())) images.push_back(path.string());
    else ++dataset.skipped_non_image;
  });
  std::sort(images.begin(), images.end());
  return images;
}

// The order every Dataset keeps: by label, then path.
void sort_samples(std::vector<Sample>& samples) {
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return a.label != b.label ? a.label < b.label : a.path < b.path;
  });
}

}  // namespace

Dataset discover_dataset(const std::string& root, const DiscoverOptions& options) {
  fs::path folder(root);
  std::error_code error;
  if (!fs::exists(folder, error)) throw_bad_data("dataset folder " + root + " does not exist");
  if (!fs::is_directory(folder, error)) throw_bad_data("dataset folder " + root + " is not a folder");

  Dataset dataset;
  dataset.root = root;
  int64_t loose_images = 0;
  fs::directory_iterator it(folder, fs::directory_options::skip_permission_denied, error), end;
  if (error) throw_bad_data("reading dataset folder " + root + ": " + error.message());
  for (; it != end; it.increment(error)) {
    if (error) throw_bad_data("reading dataset folder " + root + ": " + error.message());
    const fs::path& path = it->path();
    if (is_hidden(path)) ++dataset.skipped_hidden;
    else if (it->is_directory(error)) dataset.classes.push_back(path.filename().string());
    else if (io::has_image_extension(path.string())) ++loose_images;
    else ++dataset.skipped_non_image;
  }
  if (dataset.classes.empty()) {
    std::string message = "dataset folder " + root + " has no class folders (expected " + root + "/<class>/<image>)";
    if (loose_images > 0)
      message += "; it holds " + std::to_string(loose_images) + (loose_images == 1 ? " image" : " images") +
                 " directly: put them in one folder per class";
    throw_bad_data(message);
  }
  std::sort(dataset.classes.begin(), dataset.classes.end());

  for (size_t label = 0; label < dataset.classes.size(); ++label) {
    const std::string& name = dataset.classes[label];
    std::vector<std::string> images = walk_class(folder / name, dataset);
    dataset.class_counts.push_back(static_cast<int64_t>(images.size()));
    for (auto& path : images) dataset.samples.push_back({std::move(path), static_cast<int64_t>(label)});
    if (images.empty())
      dataset.warnings.push_back("class '" + name + "' in " + root + " has no images");
    else if (static_cast<int64_t>(images.size()) < options.few_images_warning)
      dataset.warnings.push_back("class '" + name + "' in " + root + " has only " + std::to_string(images.size()) +
                                 " image" + (images.size() == 1 ? "" : "s") + " (fewer than " +
                                 std::to_string(options.few_images_warning) + ")");
  }
  if (loose_images > 0)
    dataset.warnings.push_back(std::to_string(loose_images) + " image" + (loose_images == 1 ? "" : "s") +
                               " directly in " + root + " (not in a class folder) ignored");
  return dataset;
}

void check_same_classes(const std::vector<const Dataset*>& splits, const std::vector<std::string>& names) {
  if (splits.size() != names.size())
    throw_runtime("check_same_classes: " + std::to_string(splits.size()) + " splits but " +
                  std::to_string(names.size()) + " names");
  std::set<std::string> all;
  std::vector<std::set<std::string>> sets;
  for (const Dataset* split : splits) {
    sets.emplace_back(split->classes.begin(), split->classes.end());
    all.insert(split->classes.begin(), split->classes.end());
  }
  std::vector<std::string> problems;
  for (const std::string& name : all) {
    std::vector<std::string> present, missing;
    for (size_t s = 0; s < splits.size(); ++s) (sets[s].count(name) ? present : missing).push_back(names[s]);
    if (missing.empty()) continue;
    std::string joined_present, joined_missing;
    for (size_t i = 0; i < present.size(); ++i) joined_present += (i ? ", " : "") + present[i];
    for (size_t i = 0; i < missing.size(); ++i) joined_missing += (i ? ", " : "") + missing[i];
    problems.push_back("class '" + name + "' is in " + joined_present + " but missing from " + joined_missing);
  }
  if (problems.empty()) return;
  std::string message = "the splits have different classes: ";
  for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
  throw_bad_data(message);
}

int64_t merge(Dataset& dataset, const Dataset& more) {
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < dataset.classes.size(); ++i) index.emplace(dataset.classes[i], static_cast<int64_t>(i));
  std::vector<std::string> unknown;
  for (const auto& name : more.classes)
    if (!index.count(name)) unknown.push_back(name);
  if (!unknown.empty())
    throw_bad_data(more.root + " has class folders that the training folder " + dataset.root +
                   " lacks: " + quoted_list(unknown));
  std::set<std::string> present;
  for (const Sample& sample : dataset.samples) present.insert(sample.path);
  int64_t repeated = 0;
  for (const Sample& sample : more.samples) {
    if (!present.insert(sample.path).second) {
      ++repeated;
      continue;
    }
    Sample added = sample;
    added.label = index.at(more.classes[static_cast<size_t>(sample.label)]);
    dataset.samples.push_back(added);
    ++dataset.class_counts[static_cast<size_t>(added.label)];
  }
  sort_samples(dataset.samples);
  dataset.skipped_hidden += more.skipped_hidden;
  dataset.skipped_non_image += more.skipped_non_image;
  return repeated;
}

void relabel(Dataset& dataset, const std::vector<std::string>& classes) {
  std::map<std::string, int64_t> wanted;
  for (size_t i = 0; i < classes.size(); ++i) wanted.emplace(classes[i], static_cast<int64_t>(i));
  std::set<std::string> have(dataset.classes.begin(), dataset.classes.end());
  std::vector<std::string> missing, extra;
  for (const auto& [name, index] : wanted)
    if (!have.count(name)) missing.push_back(name);
  for (const std::string& name : have)
    if (!wanted.count(name)) extra.push_back(name);
  if (!missing.empty() || !extra.empty() || wanted.size() != classes.size()) {
    std::string message = "the classes of " + dataset.root + " differ from the expected ones";
    if (!missing.empty()) message += "; expected but missing: " + quoted_list(missing);
    if (!extra.empty()) message += "; present but not expected: " + quoted_list(extra);
    if (wanted.size() != classes.size()) message += "; the expected list repeats a name";
    throw_bad_data(message);
  }
  std::vector<int64_t> new_label(dataset.classes.size());
  std::vector<int64_t> counts(classes.size(), 0);
  for (size_t old = 0; old < dataset.classes.size(); ++old) {
    new_label[old] = wanted.at(dataset.classes[old]);
    counts[static_cast<size_t>(new_label[old])] = dataset.class_counts[old];
  }
  for (Sample& sample : dataset.samples) sample.label = new_label[static_cast<size_t>(sample.label)];
  sort_samples(dataset.samples);
  dataset.classes = classes;
  dataset.class_counts = counts;
}

bool is_rare_positive(const Dataset& dataset, double share) {
  if (dataset.class_counts.size() != 2 || dataset.samples.empty()) return false;
  const auto smaller = std::min(dataset.class_counts[0], dataset.class_counts[1]);
  return static_cast<double>(smaller) < share * static_cast<double>(dataset.samples.size());
}

std::vector<std::string> minority_warnings(const Dataset& dataset, const std::string& split, double rare_share) {
  std::vector<std::string> warnings;
  const auto total = static_cast<double>(dataset.samples.size());
  if (total == 0) return warnings;
  const bool rare = is_rare_positive(dataset, rare_share);
  for (size_t c = 0; c < dataset.class_counts.size(); ++c) {
    const double share = static_cast<double>(dataset.class_counts[c]) / total;
    if (dataset.class_counts[c] == 0 || share >= kMinorityWarningShare) continue;
    char head[64];
    std::snprintf(head, sizeof head, "%.1f%% of the %s tiles (%lld of %lld)", 100.0 * share, split.c_str(),
                  static_cast<long long>(dataset.class_counts[c]), static_cast<long long>(total));
    std::string text = "class '" + dataset.classes[c] + "' is only " + head + ": ";
    if (rare) {
      text += "satx train uses its rare-positive recipe (batches balanced between the two classes, average precision "
              "monitored, the decision threshold chosen on the validation split)";
      if (c == 0)
        text += "; note that satx's positive class is the second in sorted order, '" + dataset.classes[1] +
                "': rename the folders so that the class of interest sorts last";
    } else {
      text += "satx train weighs it like the others; -sampler=balanced or -class-weights=auto give it more weight";
    }
    warnings.push_back(text);
  }
  return warnings;
}

}  // namespace satx::data
