#pragma once
/// The safetensors header parser on its own: it needs no LibTorch, so the fuzzer builds it
/// with only nlohmann-json and satx::Error (tests/fuzz/).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace satx::io {

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

/// The largest header satx accepts (the reference implementation's limit).
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

/// Bytes per element of a safetensors dtype ("F32" -> 4), or 0 when the dtype is unknown.
size_t safetensors_dtype_size(const std::string& dtype);

/// Parses and validates a header from the first bytes of a file of `file_size` bytes:
/// header length within the file and below 100 MB, JSON object, known dtypes, shapes whose
/// byte size equals end - begin, offsets in range and not overlapping. Throws BadData with
/// the reason (prefixed by `origin`). Never crashes on hostile input (fuzzed).
///
/// `size` bytes are readable at `data`; they must include the whole header (8 + its length).
/// The data section must be covered exactly: tensors laid end to end from offset 0 to the end
/// of the file, with no gaps, as the format specifies.
SafetensorsHeader parse_safetensors_header(const uint8_t* data, size_t size, uint64_t file_size,
                                           const std::string& origin);

/// Serializes a header as write_safetensors does: the 8-byte little-endian length, then the
/// JSON (`__metadata__` first when non-empty, entries in the given order) padded with spaces
/// to a multiple of 8 bytes. Tests and the fuzzer's seed corpus build fixtures with it.
std::string encode_safetensors_header(const std::vector<TensorEntry>& entries,
                                      const std::map<std::string, std::string>& metadata);

}  // namespace satx::io
