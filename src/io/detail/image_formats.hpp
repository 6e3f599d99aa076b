#pragma once
// Recognizing image formats by their first bytes and reading dimensions from headers, so
// that a hostile or huge image is refused before any pixel memory is allocated.

#include <cstddef>
#include <cstdint>
#include <string>

namespace satx::io::detail {

enum class ImageFormat { Unknown, Jpeg, Png, Tiff, Bmp, Webp };

/// The format the content claims, from its magic bytes (the file name plays no part).
ImageFormat detect_format(const uint8_t* data, size_t size);

/// "jpeg", "png", "tiff", "bmp", "webp" or "unknown".
const char* format_name(ImageFormat format);

/// Dimensions from a header; `error` is set when the header itself is malformed.
struct HeaderSize {
  int64_t width = 0;
  int64_t height = 0;
  std::string error;
};

/// PNG: IHDR. BMP: the DIB header. WebP: VP8, VP8L or VP8X. (JPEG and TIFF headers are read
/// by libjpeg and libtiff themselves, which allocate nothing per pixel for that.)
HeaderSize png_size(const uint8_t* data, size_t size);
HeaderSize bmp_size(const uint8_t* data, size_t size);
HeaderSize webp_size(const uint8_t* data, size_t size);

/// Walks the PNG chunk list; returns why it is damaged ("truncated: ..."), empty when the
/// chunks run cleanly to IEND. Catches truncated files before libpng prints to stderr.
std::string png_structure_problem(const uint8_t* data, size_t size);

/// A BMP or WebP shorter than its header says ("truncated BMP: ..."), else empty (uncompressed
/// BMP rows are counted; RIFF gives WebP's length).
std::string bmp_structure_problem(const uint8_t* data, size_t size);
std::string webp_structure_problem(const uint8_t* data, size_t size);

/// "20000x20000 exceeds the 67 MP limit" when width*height > max_pixels, else empty.
std::string pixel_limit_problem(int64_t width, int64_t height, int64_t max_pixels);

/// A printable hint of what the bytes are ("starts with \"hello wo\"").
std::string describe_start(const uint8_t* data, size_t size);

}  // namespace satx::io::detail
