#pragma once
/// A hardened safetensors reader and an atomic writer (docs/formats.md).

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "satx/io/safetensors_header.hpp"

namespace satx::io {

/// Named tensors in file (or state-dict) order.
using TensorList = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads every tensor (CPU, contiguous) and the metadata. BadData naming `path` on failure
/// (malformed header, truncated file, a dtype LibTorch lacks such as U16, BOOL bytes other
/// than 0/1). Tensors come in data-offset order, which is the writer's order.
TensorList read_safetensors(const std::filesystem::path& path, std::map<std::string, std::string>* metadata = nullptr);

/// Reads only the header.
SafetensorsHeader read_safetensors_header(const std::filesystem::path& path);

/// Writes tensors (any device; copied to CPU, contiguous) and metadata, atomically. Keys keep
/// the given order; the header is padded with spaces to a multiple of 8 bytes so every
/// tensor starts 8-byte aligned when the tensors before it are. Duplicate names or a dtype
/// safetensors cannot express throw Runtime.
void write_safetensors(const std::filesystem::path& path, const TensorList& tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// The safetensors dtype name of a LibTorch dtype ("F32" for kFloat); Runtime when none.
std::string safetensors_dtype_name(torch::ScalarType type);

}  // namespace satx::io
