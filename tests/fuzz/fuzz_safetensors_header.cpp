// libFuzzer target: parse_safetensors_header must refuse hostile bytes with satx::Error and
// nothing else, and whatever it accepts must satisfy the header's invariants.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "satx/core/error.hpp"
#include "satx/io/safetensors_header.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();  // an accepted header that breaks an invariant is a bug
}

void parse_and_check(const uint8_t* data, size_t size) {
  try {
    const auto header = satx::io::parse_safetensors_header(data, size, size, "fuzz");
    check(header.data_offset >= 8 && header.data_offset <= size);
    const uint64_t data_size = size - header.data_offset;
    uint64_t covered = 0;
    for (const auto& entry : header.tensors) {
      check(entry.begin == covered && entry.begin <= entry.end && entry.end <= data_size);
      uint64_t bytes = satx::io::safetensors_dtype_size(entry.dtype);
      check(bytes > 0);
      for (int64_t dim : entry.shape) {
        check(dim >= 0);
        bytes *= static_cast<uint64_t>(dim);  // cannot overflow: the parser checked it
      }
      check(bytes == entry.end - entry.begin);
      covered = entry.end;
    }
    check(covered == data_size);
  } catch (const satx::Error& e) {
    check(e.code() == satx::ErrorCode::BadData);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parse_and_check(data, size);
  // Mutations rarely keep the 8-byte length in step with the JSON, so also parse a copy whose
  // length is rewritten to end `data[0] % 64` bytes before the end: the JSON paths get explored.
  if (size > 9) {
    std::vector<uint8_t> copy(data, data + size);
    const uint64_t length = size - 8 - std::min<size_t>(size - 9, data[0] % 64);
    for (int i = 0; i < 8; ++i) copy[i] = static_cast<uint8_t>(length >> (8 * i));
    parse_and_check(copy.data(), copy.size());
  }
  return 0;
}
