#pragma once
/// Tile decoding: JPEG, PNG, TIFF (8/16-bit, 1/3/4/N channels), BMP, WebP into uint8 HWC.

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace satx::io {

/// How to decode a tile.
struct DecodeOptions {
  /// Channels wanted: 3 (RGB), 1, or N for multispectral. Grayscale is replicated to 3,
  /// RGBA drops alpha; an N-band image with a different count than asked is an error.
  int channels = 3;
  /// Output square size; 0 keeps the decoded size. Resizing uses INTER_AREA when shrinking.
  int size = 0;
  /// Images with more pixels than this are downscaled while decoding (JPEG) or refused, so a
  /// stray 20000x20000 scene cannot exhaust memory.
  int64_t max_pixels = 8192LL * 8192LL;
};

/// A decoded tile: uint8, height x width x channels, channels in RGB(+) order.
struct Tile {
  cv::Mat pixels;        ///< CV_8UC(channels), continuous
  int source_depth = 8;  ///< bits per sample in the file (8 or 16; 32 for float TIFF)
  int source_channels = 0;
  int source_width = 0, source_height = 0;
};

/// Decodes `path`. Throws BadData with the path and the reason (zero bytes, truncated,
/// not an image, unsupported channels, too large). 16-bit data is rescaled to 8 bits by a
/// per-image linear stretch of the 0.1..99.9 percentiles (docs/data.md); 8-bit data as is.
Tile decode_tile(const std::string& path, const DecodeOptions& options = {});

/// Decodes from bytes already in memory (`origin` names them in errors).
Tile decode_tile_bytes(const std::vector<uint8_t>& bytes, const std::string& origin, const DecodeOptions& options = {});

/// Whether a file name has an image extension satx reads (.jpg .jpeg .png .tif .tiff .bmp .webp).
bool has_image_extension(const std::string& path);

}  // namespace satx::io
