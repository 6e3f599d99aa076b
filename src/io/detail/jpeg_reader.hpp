#pragma once
// JPEG through libjpeg directly: its warnings tell a truncated or damaged file from a good one
// (OpenCV swallows them and returns grey-filled pixels), and nothing is printed to stderr.

#include <cstddef>
#include <cstdint>
#include <string>

#include <opencv2/core/mat.hpp>

namespace satx::io::detail {

struct JpegImage {
  cv::Mat pixels;          ///< CV_8UC1 (grayscale) or CV_8UC3 (RGB)
  int width = 0;           ///< size in the file, before any reduction
  int height = 0;
  int components = 0;      ///< components in the file
  int reduction = 1;       ///< 1, 2, 4 or 8: the DCT scaling used to fit max_pixels
  bool needs_fallback = false;  ///< CMYK/YCCK: left for OpenCV
  bool too_large = false;       ///< refused: over max_pixels even at 1/8 scale
};

/// Decodes, reducing by 2/4/8 when the image has more than `max_pixels`. Returns the reason
/// for failure ("truncated JPEG (Premature end of JPEG file)"), or empty on success.
std::string decode_jpeg(const uint8_t* data, size_t size, int64_t max_pixels, JpegImage& image);

}  // namespace satx::io::detail
