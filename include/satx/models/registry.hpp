#pragma once
/// The backbone registry: maps `-model=` names and aliases to manifests (models/<arch>.json,
/// compiled into the binary) and constructors.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace satx::models {

/// A published weight file an arch can load.
struct WeightFile {
  std::string name;         ///< file name, e.g. "mobilenet_v2-b0353104.pth"
  std::string url;          ///< where online users download it (empty for local-only files)
  std::string format;       ///< "pth", "safetensors" or "h5"
  std::string layout;       ///< "torchvision", "timm" or "keras"
  std::optional<uint64_t> size;  ///< bytes, when known
  std::string sha256;       ///< full digest, or the prefix upstream publishes (torch.hub style)
  std::vector<float> mean;  ///< normalization those weights were trained with (empty: the arch's)
  std::vector<float> std;
  std::string note;         ///< provenance, one line
};

/// Everything satx knows about a backbone without building it.
struct Manifest {
  std::string arch;                  ///< canonical name, e.g. "mobilenetv2"
  std::vector<std::string> aliases;  ///< other accepted `-model=` spellings
  std::string description;
  int input_size = 224;              ///< default square input size
  int in_channels = 3;
  std::vector<float> mean;           ///< per-channel mean on [0, 1] inputs
  std::vector<float> std;            ///< per-channel std on [0, 1] inputs
  int feature_dim = 0;               ///< width of the pooled features the head sees
  std::string head;                  ///< state-dict prefix of the classification head
  std::vector<std::string> stages;   ///< parameter-name prefixes, input to output, for freezing by stage
  /// Leading stages phase 2 keeps frozen by default: generic early filters whose backward pass
  /// is the costliest per parameter (large feature maps).
  int frozen_stages = 0;
  int64_t imagenet_parameters = 0;   ///< trainable parameters with the 1000-class head
  std::vector<WeightFile> weights;   ///< upstream ImageNet weight files
};

/// All manifests, sorted by arch name.
const std::vector<Manifest>& manifests();

/// Canonical arch names, sorted.
std::vector<std::string> arch_names();

/// The manifest for a name or alias (case-insensitive). Throws a Usage error naming `name`,
/// suggesting the nearest arch and listing the valid ones.
const Manifest& find_manifest(const std::string& name);

/// Parses one manifest (for tests and `satx weights list`); throws BadData naming `origin`.
Manifest parse_manifest(const std::string& json_text, const std::string& origin);

}  // namespace satx::models
