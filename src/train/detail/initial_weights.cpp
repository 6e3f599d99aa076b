#include "train/detail/initial_weights.hpp"

#include <cstdlib>
#include <filesystem>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/io/safetensors.hpp"

namespace fs = std::filesystem;

namespace satx::train::detail {

namespace {

// The manifest's entry for a weights file, matched by file name.
const models::WeightFile* known_file(const models::Manifest& manifest, const fs::path& path) {
  for (const auto& file : manifest.weights)
    if (file.name == path.filename().string()) return &file;
  return nullptr;
}

void copy_matching(models::Network& network, const io::TensorList& tensors, const std::string& origin, spdlog::logger& log) {
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  const std::string head = network.manifest().head + ".";
  torch::NoGradGuard no_grad;
  int64_t loaded = 0, skipped_head = 0;
  std::vector<std::string> missing;
  for (auto& [name, tensor] : models::state_entries(network)) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second.sizes() != tensor.sizes()) {
      if (name.rfind(head, 0) == 0) {
        ++skipped_head;
        continue;
      }
      if (name == network.input_conv_weight() && it->second.dim() == 4 && it->second.size(1) == 3) {
        tensor.copy_(models::adapt_input_channels(it->second, tensor.size(1)));
        ++loaded;
        continue;
      }
      throw_bad_data("reading weights " + origin + ": '" + name + "' has shape " + c10::str(it->second.sizes()) +
                     ", the " + network.manifest().arch + " network expects " + c10::str(tensor.sizes()));
    }
    tensor.copy_(it->second);
    ++loaded;
  }
  // A missing head is expected (a headless file); a missing backbone tensor is a wrong file.
  std::vector<std::string> missing_backbone;
  for (const auto& name : missing)
    if (name.rfind(head, 0) != 0 && name.find("num_batches_tracked") == std::string::npos) missing_backbone.push_back(name);
  if (!missing_backbone.empty())
    throw_bad_data("reading weights " + origin + ": " + std::to_string(missing_backbone.size()) + " tensors of " +
                   network.manifest().arch + " are missing, e.g. '" + missing_backbone.front() + "'");
  log.info("loaded {} tensors from {} (new {}-class head)", loaded, origin, network.num_classes());
  (void)skipped_head;
}

}  // namespace

std::vector<std::string> weight_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("SATX_WEIGHTS")) dirs.emplace_back(env);
  dirs.emplace_back("weights");
  if (const char* home = std::getenv("HOME")) dirs.push_back(std::string(home) + "/.cache/satx/weights");
  return dirs;
}

InitialWeights load_initial_weights(models::Network& network, const std::string& weights, spdlog::logger& log) {
  const auto& manifest = network.manifest();
  InitialWeights result;
  result.mean = manifest.mean;
  result.std = manifest.std;
  fs::path path;
  if (weights == "none") {
    log.warn("-weights=none: training {} from random initialization (expect lower accuracy and more epochs)", manifest.arch);
    result.note = "random initialization (-weights=none)";
    return result;
  }
  if (weights == "auto") {
    for (const auto& dir : weight_search_dirs())
      for (const auto& file : manifest.weights)
        if (path.empty() && fs::is_regular_file(fs::path(dir) / file.name)) path = fs::path(dir) / file.name;
    if (path.empty()) {
      log.warn("no ImageNet weights for {} found (-weights=auto looked in $SATX_WEIGHTS, ./weights, ~/.cache/satx/weights): "
               "training from random initialization; pass -weights=FILE for much better accuracy",
               manifest.arch);
      result.note = "random initialization (-weights=auto found no file)";
      return result;
    }
  } else {
    path = weights;
  }
  if (!fs::is_regular_file(path)) throw_usage("-weights: no such file '" + path.string() + "'");
  if (path.extension() != ".safetensors")
    throw_usage("-weights: '" + path.string() + "' is not a .safetensors file (convert it with `satx weights import`)");
  copy_matching(network, io::read_safetensors(path), path.string(), log);
  result.path = path.string();
  if (const auto* file = known_file(manifest, path)) {
    if (!file->mean.empty()) result.mean = file->mean;
    if (!file->std.empty()) result.std = file->std;
    result.note = "identified as " + file->name + ": " + file->note;
  } else {
    result.note = "unknown file: the architecture's default normalization";
  }
  return result;
}

}  // namespace satx::train::detail
