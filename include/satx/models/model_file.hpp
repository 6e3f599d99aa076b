#pragma once
/// The satx model file: one .safetensors whose `__metadata__["satx"]` is a JSON string
/// (docs/formats.md). Any safetensors reader opens it.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "satx/models/network.hpp"

namespace satx::models {

/// What the `"satx"` metadata of a model file holds.
struct ModelMetadata {
  int format_version = 1;
  std::string arch;                  ///< canonical arch name
  std::vector<std::string> classes;  ///< ordered class names (index = logit)
  int input_size = 224;
  int in_channels = 3;
  std::vector<float> mean;           ///< per-channel, on [0, 1] inputs
  std::vector<float> std;
  std::optional<double> threshold;   ///< binary models: operating threshold on the positive class
  std::string satx_version;
  nlohmann::json training = nlohmann::json::object();  ///< data folders, epochs, best metrics, seed, ...
  nlohmann::json to_json() const;
  static ModelMetadata from_json(const nlohmann::json& j, const std::string& origin);
};

/// A network with its metadata, ready to run.
struct LoadedModel {
  std::shared_ptr<models::Network> network;
  ModelMetadata metadata;
};

/// Writes the network's state dict and metadata atomically to `path`.
void save_model_file(const std::filesystem::path& path, models::Network& network, const ModelMetadata& metadata);

/// Reads a model file, builds the network (eval mode) on `device`. BadData naming the path
/// and the reason for anything malformed (no satx metadata, missing/unexpected tensors, ...).
LoadedModel load_model_file(const std::filesystem::path& path, torch::Device device = torch::kCPU);

/// Reads only the metadata (cheap; for `satx info` and class checks).
ModelMetadata read_model_metadata(const std::filesystem::path& path);

/// Rewrites the metadata of an existing model file atomically, tensors unchanged.
void update_model_metadata(const std::filesystem::path& path, const ModelMetadata& metadata);

}  // namespace satx::models
