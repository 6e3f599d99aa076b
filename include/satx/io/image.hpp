#pragma once
/// Tile decoding: JPEG, PNG, TIFF (8/16-bit, 1/3/4/N channels), BMP, WebP into uint8 HWC.
/// docs/data.md states the channel and bit-depth rules.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace satx::io {

/// How to decode a tile.
struct DecodeOptions {
  /// Channels wanted: 3 (RGB), 1, or N for multispectral. Grayscale is replicated to 3,
  /// RGBA drops alpha, RGB becomes luminance for 1; an N-band image with a different count
  /// than asked is an error. 0 keeps the channels as stored (used by `satx data check`).
  int channels = 3;
  /// Output square size; 0 keeps the decoded size. Resizing uses INTER_AREA when shrinking,
  /// INTER_LINEAR when enlarging; a non-square image is stretched to the square.
  int size = 0;
  /// Images with more pixels than this are downscaled while decoding (JPEG, by 2, 4 or 8) or
  /// refused, so a stray 20000x20000 scene cannot exhaust memory. The header is read first.
  int64_t max_pixels = 8192LL * 8192LL;
};

/// A decoded tile: uint8, height x width x channels, channels in RGB(+) order.
struct Tile {
  cv::Mat pixels;        ///< CV_8UC(channels), continuous
  int source_depth = 8;  ///< bits per sample in the file (8 or 16; 32 for float TIFF)
  int source_channels = 0;
  int source_width = 0, source_height = 0;
  std::string format;    ///< "jpeg", "png", "tiff", "bmp" or "webp" (from the content, not the name)
};

/// A decode that did not throw: the tile, or `error` saying why there is none.
struct DecodeResult {
  std::optional<Tile> tile;
  std::string error;  ///< the reason alone, without the path ("truncated JPEG (...)")
  /// The error is the pixel limit (DecodeOptions::max_pixels, or its sample allowance for
  /// many-band TIFFs), judged from the header: the image is too large, not broken.
  bool too_large = false;
};

/// Decodes `path`. Throws BadData with the path and the reason (zero bytes, truncated,
/// not an image, unsupported channels, too large). 16-bit data is rescaled to 8 bits by a
/// per-image linear stretch of the 0.1..99.9 percentiles over all bands together, never
/// amplifying by more than one output level per input unit (docs/data.md); 8-bit data as is.
Tile decode_tile(const std::string& path, const DecodeOptions& options = {});

/// Decodes from bytes already in memory (`origin` names them in errors).
Tile decode_tile_bytes(const std::vector<uint8_t>& bytes, const std::string& origin, const DecodeOptions& options = {});

/// Like decode_tile, but returns the reason instead of throwing (for loops over many files).
DecodeResult try_decode_tile(const std::string& path, const DecodeOptions& options = {});

/// Like decode_tile_bytes, but returns the reason instead of throwing.
DecodeResult try_decode_tile_bytes(const std::vector<uint8_t>& bytes, const DecodeOptions& options = {});
/// The same for bytes held elsewhere (an HTTP body), without copying them.
DecodeResult try_decode_tile_bytes(const uint8_t* data, size_t size, const DecodeOptions& options = {});

/// `pixels` (CV_8U, any channel count) resized to a `size` x `size` square as decoding does:
/// INTER_AREA when shrinking, INTER_LINEAR when enlarging, band by band beyond 4 channels.
cv::Mat resize_square(const cv::Mat& pixels, int size);

/// Reads a whole regular file into `bytes` (reusing its capacity); returns an error text, empty on
/// success. A folder, FIFO, socket or device, or a file over kMaxTileFileBytes, is refused by name
/// without blocking.
std::string read_file_bytes(const std::string& path, std::vector<uint8_t>& bytes);

/// The largest file read_file_bytes reads (a tile; whole scenes are not read into memory).
inline constexpr uint64_t kMaxTileFileBytes = 2ULL << 30;

/// Whether a file name has an image extension satx reads (.jpg .jpeg .png .tif .tiff .bmp .webp).
bool has_image_extension(const std::string& path);

/// Writes `pixels` (CV_8U or CV_16U, any channel count, samples in the Mat's channel order) as
/// a deflate-compressed TIFF; `rgb` marks the first three bands as RGB (the rest as alpha/extra),
/// otherwise the bands are plain (multispectral). OpenCV 4.x cannot write more than 4 channels.
/// Throws Runtime naming `path` on failure.
void write_tiff(const std::string& path, const cv::Mat& pixels, bool rgb = false);

}  // namespace satx::io
