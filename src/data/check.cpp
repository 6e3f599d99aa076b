#include "satx/data/check.hpp"
#include "satx/core/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "satx/core/error.hpp"
#include "satx/core/thread_pool.hpp"
#include "satx/data/dataset.hpp"
#include "satx/io/image.hpp"

namespace fs = std::filesystem;

namespace satx::data {

namespace {

// Split folder names in the order they are reported.
const std::vector<std::string>& split_names() {
  static const std::vector<std::string> names = {"train", "training", "valid", "val", "validation", "test", "testing"};
  return names;
}

struct FileEntry {
  size_t split = 0;
  int64_t label = 0;
  std::string path;
};

struct FileResult {
  uint64_t hash = 0;
  int64_t bytes = 0;
  std::string error;  // empty when readable
  int width = 0, height = 0, channels = 0, depth = 0;
  std::string format;
};

// 64-bit FNV-1a: duplicates are confirmed byte for byte, so the hash only has to spread well.
uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (uint8_t byte : bytes) hash = (hash ^ byte) * 0x100000001b3ULL;
  return hash;
}

std::string plural(int64_t count, const std::string& word) {
  return std::to_string(count) + " " + word + (count == 1 ? "" : "s");
}

std::string describe_format(const FileResult& result) {
  return std::to_string(result.width) + "x" + std::to_string(result.height) + ", " +
         plural(result.channels, "channel") + ", " + std::to_string(result.depth) + "-bit " + result.format;
}

// Splits files with equal (size, hash) into groups of byte-identical files.
std::vector<std::vector<size_t>> identical_groups(const std::vector<size_t>& candidates,
                                                  const std::vector<FileEntry>& files) {
  std::vector<std::vector<size_t>> groups;
  std::vector<std::vector<uint8_t>> contents;
  for (size_t index : candidates) {
    std::vector<uint8_t> bytes;
    if (!io::read_file_bytes(files[index].path, bytes).empty()) continue;
    bool placed = false;
    for (size_t g = 0; g < groups.size() && !placed; ++g)
      if (contents[g] == bytes) {
        groups[g].push_back(index);
        placed = true;
      }
    if (!placed) {
      groups.push_back({index});
      contents.push_back(std::move(bytes));
    }
  }
  groups.erase(std::remove_if(groups.begin(), groups.end(), [](const auto& g) { return g.size() < 2; }), groups.end());
  return groups;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> resolve_splits(const std::vector<std::string>& folders) {
  std::vector<std::pair<std::string, std::string>> splits;
  for (const std::string& folder : folders) {
    std::error_code error;
    if (!fs::exists(folder, error)) throw_bad_data("data folder " + folder + " does not exist");
    if (!fs::is_directory(folder, error)) throw_bad_data("data folder " + folder + " is not a folder");
    std::vector<std::string> children;
    for (const auto& entry : fs::directory_iterator(folder, fs::directory_options::skip_permission_denied, error)) {
      std::string name = entry.path().filename().string();
      if (!name.empty() && name[0] != '.' && entry.is_directory(error)) children.push_back(name);
    }
    const auto& known = split_names();
    bool all_splits = !children.empty() && std::all_of(children.begin(), children.end(), [&](const std::string& c) {
      return std::find(known.begin(), known.end(), c) != known.end();
    });
    if (all_splits) {
      for (const std::string& name : known)
        if (std::find(children.begin(), children.end(), name) != children.end())
          splits.emplace_back(name, (fs::path(folder) / name).string());
    } else {
      std::string name = fs::path(folder).lexically_normal().filename().string();
      if (name.empty() || name == "." || name == "..") name = folder;
      splits.emplace_back(name, folder);
    }
  }
  // Two folders with one name (a/train, b/train) are told apart by their paths.
  std::map<std::string, int> uses;
  for (const auto& split : splits) ++uses[split.first];
  for (auto& split : splits)
    if (uses[split.first] > 1) split.first = split.second;
  return splits;
}

CheckReport check_dataset(const std::vector<std::string>& folders, const CheckOptions& options, const Context& context) {
  CheckReport report;
  std::vector<FileEntry> files;
  std::vector<Dataset> datasets;
  std::vector<std::string> names;
  DiscoverOptions discover;
  discover.few_images_warning = options.few_images_warning;
  for (const auto& [name, root] : resolve_splits(folders)) {
    Dataset dataset;
    try {
      dataset = discover_dataset(root, discover);
    } catch (const Error& e) {
      report.errors.push_back(e.what());
      continue;
    }
    CheckedSplit split;
    split.name = name;
    split.root = root;
    split.classes = dataset.classes;
    split.class_counts = dataset.class_counts;
    split.images = static_cast<int64_t>(dataset.samples.size());
    split.skipped_hidden = dataset.skipped_hidden;
    split.skipped_non_image = dataset.skipped_non_image;
    int64_t largest = 0, smallest = INT64_MAX;
    for (int64_t count : dataset.class_counts)
      if (count > 0) {
        largest = std::max(largest, count);
        smallest = std::min(smallest, count);
      }
    split.imbalance = largest > 0 ? double(largest) / double(smallest) : 0;
    if (split.imbalance > options.imbalance_warning) {
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.1f", split.imbalance);
      report.warnings.push_back("classes in " + name + " are imbalanced: the largest has " + ratio +
                                " times the images of the smallest");
    }
    for (const std::string& warning : minority_warnings(dataset, name)) report.warnings.push_back(warning);
    if (dataset.samples.empty()) report.errors.push_back("split " + name + " (" + root + ") has no images");
    for (const std::string& warning : dataset.warnings) report.warnings.push_back(warning);
    for (Sample& sample : dataset.samples)
      files.push_back({report.splits.size(), sample.label, std::move(sample.path)});
    report.classes.insert(report.classes.end(), dataset.classes.begin(), dataset.classes.end());
    report.images += split.images;
    report.splits.push_back(std::move(split));
    names.push_back(name);
    datasets.push_back(std::move(dataset));
  }
  std::sort(report.classes.begin(), report.classes.end());
  report.classes.erase(std::unique(report.classes.begin(), report.classes.end()), report.classes.end());
  if (datasets.size() > 1) {
    std::vector<const Dataset*> pointers;
    for (const Dataset& dataset : datasets) pointers.push_back(&dataset);
    try {
      check_same_classes(pointers, names);
    } catch (const Error& e) {
      report.errors.push_back(e.what());
    }
  }

  // Read, hash and decode every file once, in chunks so progress can be reported.
  std::vector<FileResult> results(files.size());
  ThreadPool pool(std::max(1, context.threads));
  io::DecodeOptions as_stored;
  as_stored.channels = 0;
  const size_t chunk = 512;
  for (size_t begin = 0; begin < files.size(); begin += chunk) {
    size_t count = std::min(chunk, files.size() - begin);
    pool.parallel_for(count, [&](size_t offset) {
      FileResult& result = results[begin + offset];
      std::vector<uint8_t> bytes;
      result.error = io::read_file_bytes(files[begin + offset].path, bytes);
      if (!result.error.empty()) return;
      result.bytes = static_cast<int64_t>(bytes.size());
      result.hash = fnv1a(bytes);
      io::DecodeResult decoded = io::try_decode_tile_bytes(bytes, as_stored);
      if (!decoded.tile) {
        result.error = decoded.error;
        return;
      }
      result.width = decoded.tile->source_width;
      result.height = decoded.tile->source_height;
      result.channels = decoded.tile->source_channels;
      result.depth = decoded.tile->source_depth;
      result.format = decoded.tile->format;
    });
    if (options.progress) options.progress(static_cast<int64_t>(begin + count), static_cast<int64_t>(files.size()));
  }

  std::map<std::string, int64_t> formats;
  std::map<std::string, int64_t> sizes;
  std::map<int, int64_t> channel_counts;
  for (size_t i = 0; i < files.size(); ++i) {
    const FileResult& result = results[i];
    if (!result.error.empty()) {
      report.corrupt.push_back({files[i].path, result.error});
      report.errors.push_back(files[i].path + ": " + result.error);
      continue;
    }
    ++formats[describe_format(result)];
    ++sizes[std::to_string(result.width) + "x" + std::to_string(result.height)];
    ++channel_counts[result.channels];
  }
  for (const auto& [description, count] : formats) report.formats.push_back({description, count});
  std::stable_sort(report.formats.begin(), report.formats.end(),
                   [](const FormatCount& a, const FormatCount& b) { return a.count > b.count; });
  if (sizes.size() > 1) {
    std::vector<std::string> parts;
    for (const auto& [size, count] : sizes) parts.push_back(size + ": " + std::to_string(count));
    report.warnings.push_back("images come in " + std::to_string(sizes.size()) + " sizes (" + join(parts) +
                              "); they are resized to the model's input size when loaded");
  }
  // A file whose channels differ from most is valid, but a model trained on the majority
  // count may not be able to read it: say which ones and why.
  if (channel_counts.size() > 1) {
    auto majority = std::max_element(channel_counts.begin(), channel_counts.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
    io::DecodeOptions as_majority;
    as_majority.channels = majority->first;
    int64_t unreadable = 0;
    for (size_t i = 0; i < files.size(); ++i) {
      if (!results[i].error.empty() || results[i].channels == majority->first) continue;
      io::DecodeResult decoded = io::try_decode_tile(files[i].path, as_majority);
      if (decoded.tile) continue;
      if (++unreadable <= 20)
        report.warnings.push_back(files[i].path + " cannot be loaded with " + plural(majority->first, "channel") +
                                  " like most images: " + decoded.error);
    }
    if (unreadable > 20) report.warnings.push_back("... and " + std::to_string(unreadable - 20) + " more such files");
  }

  // Exact duplicates: equal size and hash, then equal bytes.
  std::vector<size_t> order;
  for (size_t i = 0; i < files.size(); ++i)
    if (results[i].bytes > 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(results[a].bytes, results[a].hash) < std::tie(results[b].bytes, results[b].hash);
  });
  for (size_t start = 0; start < order.size();) {
    size_t stop = start + 1;
    while (stop < order.size() && results[order[stop]].bytes == results[order[start]].bytes &&
           results[order[stop]].hash == results[order[start]].hash)
      ++stop;
    if (stop - start > 1) {
      std::vector<size_t> candidates(order.begin() + static_cast<std::ptrdiff_t>(start),
                                     order.begin() + static_cast<std::ptrdiff_t>(stop));
      for (std::vector<size_t>& group : identical_groups(candidates, files)) {
        std::sort(group.begin(), group.end(), [&](size_t a, size_t b) { return files[a].path < files[b].path; });
        DuplicateGroup duplicate;
        duplicate.bytes = results[group.front()].bytes;
        std::set<size_t> group_splits;
        std::set<int64_t> group_classes;
        for (size_t index : group) {
          const CheckedSplit& split = report.splits[files[index].split];
          duplicate.paths.push_back(files[index].path);
          duplicate.splits.push_back(split.name);
          duplicate.classes.push_back(split.classes[static_cast<size_t>(files[index].label)]);
          group_splits.insert(files[index].split);
          group_classes.insert(files[index].label);
        }
        duplicate.across_splits = group_splits.size() > 1;
        std::set<std::string> class_names(duplicate.classes.begin(), duplicate.classes.end());
        if (duplicate.across_splits) {
          std::set<std::string> split_set(duplicate.splits.begin(), duplicate.splits.end());
          report.errors.push_back("the same image is in " + join({split_set.begin(), split_set.end()}, " and ") +
                                  " (leakage): " + join(duplicate.paths));
        } else {
          std::string note = class_names.size() > 1 ? " (labelled " + join({class_names.begin(), class_names.end()}, " and ") + ")" : "";
          report.warnings.push_back("identical files in " + duplicate.splits.front() + note + ": " + join(duplicate.paths));
        }
        report.duplicates.push_back(std::move(duplicate));
      }
    }
    start = stop;
  }
  return report;
}

std::string check_report_json(const CheckReport& report) {
  nlohmann::json root;
  root["ok"] = report.ok();
  root["images"] = report.images;
  root["classes"] = report.classes;
  root["splits"] = nlohmann::json::array();
  for (const CheckedSplit& split : report.splits) {
    nlohmann::json counts = nlohmann::json::object();
    for (size_t c = 0; c < split.classes.size(); ++c) counts[split.classes[c]] = split.class_counts[c];
    root["splits"].push_back({{"name", split.name},
                              {"root", split.root},
                              {"images", split.images},
                              {"class_counts", counts},
                              {"imbalance", split.imbalance},
                              {"skipped_hidden", split.skipped_hidden},
                              {"skipped_non_image", split.skipped_non_image}});
  }
  root["corrupt"] = nlohmann::json::array();
  for (const BadFile& file : report.corrupt) root["corrupt"].push_back({{"path", file.path}, {"reason", file.reason}});
  root["duplicates"] = nlohmann::json::array();
  for (const DuplicateGroup& group : report.duplicates)
    root["duplicates"].push_back({{"paths", group.paths},
                                  {"splits", group.splits},
                                  {"classes", group.classes},
                                  {"across_splits", group.across_splits},
                                  {"bytes", group.bytes}});
  root["formats"] = nlohmann::json::array();
  for (const FormatCount& format : report.formats)
    root["formats"].push_back({{"format", format.description}, {"count", format.count}});
  root["errors"] = report.errors;
  root["warnings"] = report.warnings;
  return root.dump(2) + "\n";
}

}  // namespace satx::data
