#include "satx/models/model_file.hpp"

#include <cmath>
#include <set>
#include <fstream>

#include <torch/torch.h>

#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/io/safetensors.hpp"
#include "satx/io/safetensors_header.hpp"
#include "satx/models/weights.hpp"

namespace fs = std::filesystem;

namespace satx::models {
namespace {

constexpr int kFormatVersion = 1;
constexpr const char* kMetadataKey = "satx";

std::string model_origin(const fs::path& path) { return "reading model " + path.string(); }

ModelMetadata metadata_from_header(const std::map<std::string, std::string>& metadata, const fs::path& path) {
  auto found = metadata.find(kMetadataKey);
  if (found == metadata.end())
    throw_bad_data(model_origin(path) +
                   ": not a satx model file (no \"satx\" metadata); to start from ImageNet weights use "
                   "`satx weights import` or pass them to `satx train -weights=`");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(found->second);
  } catch (const nlohmann::json::exception& e) {
    throw_bad_data(model_origin(path) + ": satx metadata is not valid JSON (" + e.what() + ")");
  }
  return ModelMetadata::from_json(j, model_origin(path));
}

// The tensors a file holds against what its metadata claims, before building anything.
void check_consistent(const ModelMetadata& m, const std::string& origin) {
  if (m.mean.size() != static_cast<size_t>(m.in_channels) || m.std.size() != static_cast<size_t>(m.in_channels))
    throw_bad_data(origin + ": mean/std need " + std::to_string(m.in_channels) + " values (one per input channel)");
  for (float s : m.std)
    if (!(s > 0) || !std::isfinite(s)) throw_bad_data(origin + ": std values must be positive");
  // Two logits with one name would make labels, gates and predictions ambiguous.
  std::set<std::string> seen;
  for (const auto& name : m.classes) {
    if (name.empty()) throw_bad_data(origin + ": a class name is empty");
    if (!seen.insert(name).second) throw_bad_data(origin + ": class '" + name + "' is listed twice");
  }
}

}  // namespace

nlohmann::json ModelMetadata::to_json() const {
  nlohmann::json j;
  j["format_version"] = format_version;
  j["arch"] = arch;
  j["classes"] = classes;
  j["input_size"] = input_size;
  j["in_channels"] = in_channels;
  j["mean"] = mean;
  j["std"] = std;
  if (threshold) j["threshold"] = *threshold;
  j["satx_version"] = satx_version;
  j["training"] = training;
  return j;
}

ModelMetadata ModelMetadata::from_json(const nlohmann::json& j, const std::string& origin) {
  ModelMetadata m;
  try {
    if (!j.is_object()) throw_bad_data(origin + ": satx metadata is not a JSON object");
    m.format_version = j.at("format_version").get<int>();
    if (m.format_version < 1 || m.format_version > kFormatVersion)
      throw_bad_data(origin + ": model format version " + std::to_string(m.format_version) +
                     " is newer than this satx reads (" + std::to_string(kFormatVersion) + "); upgrade satx");
    m.arch = j.at("arch").get<std::string>();
    m.classes = j.at("classes").get<std::vector<std::string>>();
    m.input_size = j.at("input_size").get<int>();
    m.in_channels = j.value("in_channels", 3);
    m.mean = j.at("mean").get<std::vector<float>>();
    m.std = j.at("std").get<std::vector<float>>();
    if (j.contains("threshold") && !j["threshold"].is_null()) m.threshold = j["threshold"].get<double>();
    m.satx_version = j.value("satx_version", "");
    m.training = j.value("training", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    throw_bad_data(origin + ": malformed satx metadata (" + e.what() + ")");
  }
  if (m.arch.empty()) throw_bad_data(origin + ": satx metadata has an empty arch");
  if (m.classes.empty()) throw_bad_data(origin + ": satx metadata lists no classes");
  if (m.input_size < 8 || m.input_size > 8192) throw_bad_data(origin + ": input_size " + std::to_string(m.input_size) + " is out of range");
  if (m.in_channels < 1 || m.in_channels > 1024) throw_bad_data(origin + ": in_channels " + std::to_string(m.in_channels) + " is out of range");
  if (m.threshold && !(*m.threshold >= 0 && *m.threshold <= 1))
    throw_bad_data(origin + ": threshold must lie in [0, 1]");
  if (!m.training.is_object()) throw_bad_data(origin + ": training summary is not a JSON object");
  check_consistent(m, origin);
  return m;
}

void save_model_file(const fs::path& path, models::Network& network, const ModelMetadata& metadata) {
  const std::string origin = "writing model " + path.string();
  if (metadata.arch != network.manifest().arch)
    throw_runtime(origin + ": metadata arch '" + metadata.arch + "' differs from the network's '" + network.manifest().arch + "'");
  if (static_cast<int64_t>(metadata.classes.size()) != network.num_classes())
    throw_runtime(origin + ": " + std::to_string(metadata.classes.size()) + " class names for a " +
                  std::to_string(network.num_classes()) + "-class head");
  if (metadata.in_channels != network.in_channels())
    throw_runtime(origin + ": metadata in_channels differs from the network's");
  check_consistent(metadata, origin);
  ModelMetadata written = metadata;
  if (written.satx_version.empty()) written.satx_version = satx::version();
  io::TensorList tensors;
  for (auto& [name, tensor] : models::state_entries(network)) tensors.emplace_back(name, tensor);
  // "format": "pt" tells Hugging Face loaders these are PyTorch-layout tensors.
  io::write_safetensors(path, tensors, {{kMetadataKey, written.to_json().dump()}, {"format", "pt"}});
}

LoadedModel load_model_file(const fs::path& path, torch::Device device) {
  std::map<std::string, std::string> header_metadata;
  io::TensorList tensors = io::read_safetensors(path, &header_metadata);
  LoadedModel loaded;
  loaded.metadata = metadata_from_header(header_metadata, path);
  const auto& m = loaded.metadata;
  try {
    loaded.network = models::create_network(m.arch, {static_cast<int64_t>(m.classes.size()), m.in_channels});
  } catch (const Error& e) {
    // An arch this satx does not know is a property of the file, not of the command line.
    throw_bad_data(model_origin(path) + ": " + e.what());
  }
  LoadWeightsOptions options;
  options.origin = "model " + path.string();
  options.adapt_input_channels = false;
  options.allow_missing_batch_counters = false;
  load_weights_into(*loaded.network, tensors, options);
  loaded.network->to(device);
  loaded.network->eval();
  return loaded;
}

ModelMetadata read_model_metadata(const fs::path& path) {
  return metadata_from_header(io::read_safetensors_header(path).metadata, path);
}

void update_model_metadata(const fs::path& path, const ModelMetadata& metadata) {
  const io::SafetensorsHeader header = io::read_safetensors_header(path);
  const ModelMetadata current = metadata_from_header(header.metadata, path);
  const std::string origin = "updating model " + path.string();
  if (metadata.arch != current.arch || metadata.classes.size() != current.classes.size() ||
      metadata.in_channels != current.in_channels)
    throw_usage(origin + ": the new metadata must keep the arch, class count and in_channels of the tensors");
  check_consistent(metadata, origin);
  ModelMetadata written = metadata;
  if (written.satx_version.empty()) written.satx_version = current.satx_version;
  auto fields = header.metadata;
  fields[kMetadataKey] = written.to_json().dump();
  // The rewrite goes through a new file and a rename, which a read-only file's folder would
  // allow: refuse instead, and give the new file the old one's permissions.
  if (is_read_only(path)) throw_usage(origin + ": the file is read-only; copy it and update the copy");
  std::error_code error;
  const fs::perms permissions = fs::status(path, error).permissions();

  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(header.data_offset));
  if (!in) throw_bad_data(model_origin(path) + ": cannot seek to the tensor data");
  AtomicFile out(path);
  out.write(io::encode_safetensors_header(header.tensors, fields));
  std::vector<char> chunk(1 << 20);
  uint64_t remaining = header.tensors.empty() ? 0 : header.tensors.back().end;
  while (remaining > 0) {
    const auto want = static_cast<std::streamsize>(std::min<uint64_t>(remaining, chunk.size()));
    if (!in.read(chunk.data(), want)) throw_bad_data(model_origin(path) + ": tensor data is truncated");
    out.write(chunk.data(), static_cast<size_t>(want));
    remaining -= static_cast<uint64_t>(want);
  }
  out.commit();
  if (!error) fs::permissions(path, permissions, fs::perm_options::replace, error);
}

}  // namespace satx::models
