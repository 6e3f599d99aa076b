#pragma once
// TIFF through libtiff: OpenCV 4.x refuses more than 4 samples per pixel, and multispectral
// scenes (Sentinel-2: 13 bands) have more. Bands stay in file order.

#include <cstddef>
#include <cstdint>
#include <string>

#include <opencv2/core/mat.hpp>

namespace satx::io::detail {

struct TiffImage {
  cv::Mat pixels;           ///< CV_8U, CV_16U, CV_16S or CV_32F with one channel per sample, file order
  int width = 0;
  int height = 0;
  int samples = 0;          ///< samples per pixel
  int bits = 0;             ///< bits per sample
  bool rgb = false;         ///< photometric RGB: samples 0..2 are R, G, B; the rest alpha or extra
  bool too_large = false;   ///< refused: over max_pixels, or too many samples for it
  bool gray_alpha = false;  ///< one gray sample plus alpha
  bool needs_fallback = false;  ///< palette, YCbCr, CMYK, 1-bit...: left for OpenCV's reader
};

/// Reads the first image of a TIFF held in memory. Returns the reason for failure, or empty.
std::string read_tiff(const uint8_t* data, size_t size, int64_t max_pixels, TiffImage& image);

/// Writes a deflate TIFF of any channel count (CV_8U / CV_16U). Returns the reason, or empty.
std::string write_tiff_file(const std::string& path, const cv::Mat& pixels, bool rgb);

}  // namespace satx::io::detail
