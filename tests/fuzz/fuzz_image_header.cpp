// libFuzzer target: decoding a tile from bytes (format sniffing, satx's JPEG and TIFF readers,
// OpenCV for the rest) must refuse hostile files with a reason, never crash or allocate beyond
// the pixel limit.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "satx/io/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  satx::io::DecodeOptions options;
  options.max_pixels = 2048LL * 2048LL;
  for (const int channels : {3, 0}) {
    options.channels = channels;
    const auto result = satx::io::try_decode_tile_bytes(bytes, options);
    if (result.tile && (result.tile->pixels.empty() || !result.tile->pixels.isContinuous())) __builtin_trap();
  }
  return 0;
}
