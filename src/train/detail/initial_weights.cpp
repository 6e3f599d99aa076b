#include "train/detail/initial_weights.hpp"

#include <filesystem>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/io/weights.hpp"
#include "satx/models/weights.hpp"

namespace fs = std::filesystem;

namespace satx::train::detail {

namespace {

// The manifest's entry for a weights file, matched by file name.
const models::WeightFile* known_file(const models::Manifest& manifest, const fs::path& path) {
  for (const auto& file : manifest.weights)
    if (file.name == path.filename().string()) return &file;
  return nullptr;
}

}  // namespace

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
    const auto local = models::find_local_weights(manifest);
    if (!local.empty()) path = local.front().path;
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
  models::LoadWeightsOptions load;
  load.skip_head = true;
  load.origin = path.string();
  const auto report = models::load_weights_into(network, io::read_weights(path, manifest.arch), load);
  log.info("loaded {} tensors from {}{} (new {}-class head)", report.loaded, path.string(),
           report.adapted_input ? ", first convolution adapted to " + std::to_string(network.in_channels()) + " channels" : "",
           network.num_classes());
  result.path = path.string();
  if (const auto identified = models::identify_weights(path)) {
    result.mean = identified->mean;
    result.std = identified->std;
    result.note = "identified by sha256 as " + identified->file->name + ": " + identified->file->note;
  } else if (const auto* file = known_file(manifest, path)) {
    if (!file->mean.empty()) result.mean = file->mean;
    if (!file->std.empty()) result.std = file->std;
    result.note = "named like " + file->name + ": " + file->note;
  } else {
    result.note = "unknown file: the architecture's default normalization";
  }
  return result;
}

}  // namespace satx::train::detail
