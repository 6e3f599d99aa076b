#pragma once
/// Weights into networks: loading named tensors into a network with every name and shape
/// checked, identifying a file against the manifests, the folders `-weights=auto` searches,
/// and building a model from ImageNet weights (docs/weights.md).

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "satx/io/safetensors.hpp"
#include "satx/models/model_file.hpp"
#include "satx/models/network.hpp"
#include "satx/models/registry.hpp"

namespace satx::models {

/// How load_weights_into treats a file that does not match the network exactly.
struct LoadWeightsOptions {
  /// Leave the network's classification head (manifest().head) as it is and ignore the
  /// file's: for transfer learning, where the class count differs.
  bool skip_head = false;
  /// When the network's first convolution takes C != 3 channels and the file's is RGB,
  /// adapt the file's kernel with models::adapt_input_channels instead of failing.
  bool adapt_input_channels = true;
  /// Accept files without BatchNorm `num_batches_tracked` counters (Keras imports, old
  /// PyTorch files); the network keeps its own.
  bool allow_missing_batch_counters = true;
  /// Names the weights in error messages, e.g. the file path.
  std::string origin = "weights";
};

/// What load_weights_into did.
struct LoadWeightsReport {
  size_t loaded = 0;                  ///< tensors copied into the network
  std::vector<std::string> skipped;   ///< file entries left out (the head, when skip_head)
  bool adapted_input = false;         ///< the first convolution was adapted to in_channels
};

/// Copies `tensors` into the network's parameters and buffers (dtype converted, device kept),
/// after checking all of them: every network entry present, no unexpected entry, equal
/// shapes. On any mismatch nothing is copied and BadData lists the missing, unexpected and
/// mis-shaped names (the first 10 of each, with counts).
LoadWeightsReport load_weights_into(Network& network, const io::TensorList& tensors,
                                    const LoadWeightsOptions& options = {});

/// A weights file recognised from the manifests.
struct IdentifiedWeights {
  const Manifest* manifest = nullptr;
  const WeightFile* file = nullptr;
  std::string sha256;           ///< the file's full digest
  std::vector<float> mean;      ///< the normalization those weights expect (file's, else the arch's)
  std::vector<float> std;
};

/// Finds the manifest entry whose `sha256` equals the file's digest or is a prefix of it
/// (at least 8 hex digits, as torch.hub names publish). `digest` may be passed when already
/// known. nullopt when no entry matches.
std::optional<IdentifiedWeights> identify_weights(const std::filesystem::path& path, const std::string& digest = "");

/// What `satx weights import` builds a model file from.
struct ImportWeightsOptions {
  std::string arch;                  ///< arch name or alias (Usage error when unknown)
  std::filesystem::path weights;     ///< .pth, .safetensors or Keras .h5
  /// Class names in logit order. Empty: class_0..class_N-1 from the weights' head. Required
  /// when the weights have no head (a new one is then initialized randomly).
  std::vector<std::string> classes;
  int input_size = 0;                ///< 0: the arch's default
  int in_channels = 3;               ///< != 3 adapts the first convolution
};

/// A network filled from a weights file, with the metadata a model file needs.
struct ImportedWeights {
  std::shared_ptr<Network> network;  ///< eval mode, CPU
  ModelMetadata metadata;                    ///< normalization from the identified file, else the arch's
  std::optional<IdentifiedWeights> identified;
  std::vector<std::string> notes;            ///< things worth telling the user, one line each
};

/// Reads `options.weights`, keeps its classification head when it has one, identifies the
/// file against the manifests for its normalization, and loads everything into a new network
/// (strict: BadData listing any mismatch). Usage errors for class names that do not fit the
/// head and for a headless file without class names.
ImportedWeights import_weights(const ImportWeightsOptions& options);

/// The folders `-weights=auto` and `satx weights list` look in, in order: $SATX_WEIGHTS,
/// ./weights, ~/.cache/satx/weights.
std::vector<std::filesystem::path> weight_search_dirs();

/// A published weight file of `manifest` found in weight_search_dirs(), with its entry.
struct LocalWeights {
  std::filesystem::path path;
  const WeightFile* file = nullptr;
};

/// Every file of `manifest.weights` present in weight_search_dirs() (search order, then manifest order).
std::vector<LocalWeights> find_local_weights(const Manifest& manifest);

}  // namespace satx::models
