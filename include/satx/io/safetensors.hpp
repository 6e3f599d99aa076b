#pragma once
/// A hardened safetensors reader and an atomic writer.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace satx::io {

/// Named tensors in file (or state-dict) order.
using TensorList = std::vector<std::pair<std::string, torch::Tensor>>;

/// One entry of a parsed safetensors header.
struct TensorEntry {
  std::string name;
  std::string dtype;               ///< "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;     ///< byte offsets into the data section
};

/// A validated safetensors header.
struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;               ///< sorted by begin offset
  std::map<std::string, std::string> metadata;    ///< `__metadata__` (string -> string)
  uint64_t data_offset = 0;                       ///< 8 + header length
};

/// Parses and validates a header from the first bytes of a file of `file_size` bytes:
/// header length within the file and below 100 MB, JSON object, known dtypes, shapes whose
/// byte size equals end - begin, offsets in range and not overlapping. Throws BadData with
/// the reason (prefixed by `origin`). Never crashes on hostile input (fuzzed).
SafetensorsHeader parse_safetensors_header(const uint8_t* data, size_t size, uint64_t file_size,
                                           const std::string& origin);

/// Reads every tensor (CPU, contiguous) and the metadata. BadData naming `path` on failure.
TensorList read_safetensors(const std::filesystem::path& path, std::map<std::string, std::string>* metadata = nullptr);

/// Reads only the header.
SafetensorsHeader read_safetensors_header(const std::filesystem::path& path);

/// Writes tensors (any device; copied to CPU, contiguous) and metadata, atomically.
void write_safetensors(const std::filesystem::path& path, const TensorList& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace satx::io
