#include "satx/models/weights.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/sha256.hpp"
#include "satx/core/strings.hpp"

namespace fs = std::filesystem;

namespace satx::models {
namespace {

constexpr size_t kListedNames = 10;

bool has_prefix(const std::string& name, const std::string& prefix) {
  return name == prefix || (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
                            name[prefix.size()] == '.');
}

std::string shape_text(at::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? ", " : "") + std::to_string(sizes[i]);
  return text + "]";
}

// "3 missing: a, b, c" with at most kListedNames names.
std::string name_list(const std::string& what, const std::vector<std::string>& names) {
  std::string text = std::to_string(names.size()) + " " + what + ": ";
  for (size_t i = 0; i < names.size() && i < kListedNames; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kListedNames) text += ", ... (" + std::to_string(names.size() - kListedNames) + " more)";
  return text;
}

}  // namespace

LoadWeightsReport load_weights_into(Network& network, const io::TensorList& tensors,
                                    const LoadWeightsOptions& options) {
  const std::string head = network.manifest().head;
  const std::string input_conv = network.input_conv_weight();
  auto in_head = [&](const std::string& name) { return !head.empty() && has_prefix(name, head); };

  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& [name, tensor] : tensors) by_name.emplace(name, &tensor);

  struct Copy {
    torch::Tensor destination;
    torch::Tensor source;
  };
  std::vector<Copy> copies;
  std::vector<std::string> missing, unexpected, misshaped;
  LoadWeightsReport report;
  std::map<std::string, bool> known;
  for (const auto& [name, destination] : state_entries(network)) {
    known[name] = true;
    if (options.skip_head && in_head(name)) continue;
    auto found = by_name.find(name);
    if (found == by_name.end()) {
      if (!(options.allow_missing_batch_counters && ends_with(name, ".num_batches_tracked"))) missing.push_back(name);
      continue;
    }
    const torch::Tensor& source = *found->second;
    if (source.sizes() == destination.sizes()) {
      copies.push_back({destination, source});
    } else if (name == input_conv && options.adapt_input_channels && source.dim() == 4 && destination.dim() == 4 &&
               source.size(1) == 3 && source.size(0) == destination.size(0) &&
               source.sizes().slice(2) == destination.sizes().slice(2)) {
      copies.push_back({destination, adapt_input_channels(source.to(torch::kFloat), destination.size(1))});
      report.adapted_input = true;
    } else {
      misshaped.push_back(name + " (file " + shape_text(source.sizes()) + ", model " +
                          shape_text(destination.sizes()) + ")");
    }
  }
  for (const auto& [name, tensor] : tensors) {
    if (known.count(name)) continue;
    if (options.skip_head && in_head(name))
      report.skipped.push_back(name);
    else
      unexpected.push_back(name);
  }
  if (options.skip_head)
    for (const auto& [name, tensor] : tensors)
      if (known.count(name) && in_head(name)) report.skipped.push_back(name);

  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::string message = "loading " + options.origin + " into " + network.manifest().arch + ": ";
    std::vector<std::string> parts;
    if (!missing.empty()) parts.push_back(name_list("missing", missing));
    if (!unexpected.empty()) parts.push_back(name_list("unexpected", unexpected));
    if (!misshaped.empty()) parts.push_back(name_list("mis-shaped", misshaped));
    for (size_t i = 0; i < parts.size(); ++i) message += (i ? "; " : "") + parts[i];
    const bool only_head = missing.empty() && unexpected.empty() &&
                           std::all_of(misshaped.begin(), misshaped.end(), [&](const std::string& n) {
                             return in_head(n.substr(0, n.find(' ')));
                           });
    if (only_head) message += " (only the classification head differs: the class count does not match)";
    else if (unexpected.size() + missing.size() > tensors.size() / 2)
      message += " (are these weights for another architecture?)";
    throw_bad_data(message);
  }

  torch::NoGradGuard no_grad;
  for (auto& copy : copies) copy.destination.copy_(copy.source);
  report.loaded = copies.size();
  return report;
}

std::optional<IdentifiedWeights> identify_weights(const fs::path& path, const std::string& digest_in) {
  const std::string digest = digest_in.empty() ? sha256_file(path) : lower(digest_in);
  const Manifest* best_manifest = nullptr;
  const WeightFile* best_file = nullptr;
  for (const auto& manifest : manifests()) {
    for (const auto& file : manifest.weights) {
      const std::string published = lower(file.sha256);
      if (published.size() < 8 || published.size() > digest.size()) continue;
      if (digest.compare(0, published.size(), published) != 0) continue;
      // A full digest beats a published prefix.
      if (!best_file || published.size() > best_file->sha256.size()) {
        best_manifest = &manifest;
        best_file = &file;
      }
    }
  }
  if (!best_file) return std::nullopt;
  IdentifiedWeights identified;
  identified.manifest = best_manifest;
  identified.file = best_file;
  identified.sha256 = digest;
  identified.mean = best_file->mean.empty() ? best_manifest->mean : best_file->mean;
  identified.std = best_file->std.empty() ? best_manifest->std : best_file->std;
  return identified;
}

std::vector<fs::path> weight_search_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("SATX_WEIGHTS"); env && *env) dirs.emplace_back(env);
  dirs.emplace_back("weights");
  if (const char* home = std::getenv("HOME"); home && *home) dirs.push_back(fs::path(home) / ".cache/satx/weights");
  return dirs;
}

std::vector<LocalWeights> find_local_weights(const Manifest& manifest) {
  std::vector<LocalWeights> found;
  for (const auto& dir : weight_search_dirs())
    for (const auto& file : manifest.weights)
      if (std::error_code error; fs::is_regular_file(dir / file.name, error)) found.push_back({dir / file.name, &file});
  return found;
}

}  // namespace satx::models
