#include "satx/io/image.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/detail/image_formats.hpp"
#include "io/detail/jpeg_reader.hpp"
#include "io/detail/tiff_codec.hpp"
#include "satx/core/error.hpp"

namespace satx::io {

namespace {

using detail::ImageFormat;

// What the decoded channels mean, which decides how they map to the channels asked for.
enum class Layout { Gray, GrayAlpha, Rgb, RgbExtra, Bands };

struct Decoded {
  cv::Mat pixels;  // any depth, channels in RGB / file band order
  Layout layout = Layout::Gray;
  int depth_bits = 8;
  bool too_large = false;  // refused by the pixel (or sample) limit from the header alone
};

Layout layout_for(int channels) {
  switch (channels) {
    case 1: return Layout::Gray;
    case 2: return Layout::GrayAlpha;
    case 3: return Layout::Rgb;
    case 4: return Layout::RgbExtra;
    default: return Layout::Bands;
  }
}

int bits_of(int depth) {
  switch (depth) {
    case CV_8U: case CV_8S: return 8;
    case CV_16U: case CV_16S: return 16;
    case CV_64F: return 64;
    default: return 32;
  }
}

// PNG, BMP, WebP and the TIFF layouts libtiff's raw reading does not cover (palette, YCbCr...).
std::string decode_with_opencv(const uint8_t* data, size_t size, ImageFormat format, Decoded& decoded) {
  cv::Mat pixels;
  try {
    cv::Mat buffer(1, static_cast<int>(size), CV_8U, const_cast<uint8_t*>(data));
    pixels = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return std::string("corrupt ") + detail::format_name(format) + " (" + e.err + ")";
  }
  if (pixels.empty()) return std::string("corrupt ") + detail::format_name(format) + " (the decoder rejected it)";
  if (pixels.channels() == 3) cv::cvtColor(pixels, pixels, cv::COLOR_BGR2RGB);
  else if (pixels.channels() == 4) cv::cvtColor(pixels, pixels, cv::COLOR_BGRA2RGBA);
  decoded.layout = layout_for(pixels.channels());
  decoded.depth_bits = bits_of(pixels.depth());
  decoded.pixels = pixels;
  return "";
}

std::string decode_any(const uint8_t* data, size_t size, const DecodeOptions& options, Decoded& decoded, Tile& tile) {
  if (size == 0) return "empty file (0 bytes)";
  ImageFormat format = detail::detect_format(data, size);
  tile.format = detail::format_name(format);
  if (format == ImageFormat::Unknown)
    return "not an image: content " + detail::describe_start(data, size) + " (expected JPEG, PNG, TIFF, BMP or WebP)";

  if (format == ImageFormat::Jpeg) {
    detail::JpegImage jpeg;
    std::string problem = detail::decode_jpeg(data, size, options.max_pixels, jpeg);
    tile.source_width = jpeg.width;
    tile.source_height = jpeg.height;
    decoded.too_large = jpeg.too_large;
    if (!problem.empty()) return problem;
    if (!jpeg.needs_fallback) {
      decoded.pixels = jpeg.pixels;
      decoded.layout = layout_for(jpeg.pixels.channels());
      decoded.depth_bits = 8;
      return "";
    }
    std::string too_big = detail::pixel_limit_problem(jpeg.width, jpeg.height, options.max_pixels);
    decoded.too_large = !too_big.empty();
    return too_big.empty() ? decode_with_opencv(data, size, format, decoded) : too_big;
  }

  if (format == ImageFormat::Tiff) {
    detail::TiffImage tiff;
    std::string problem = detail::read_tiff(data, size, options.max_pixels, tiff);
    tile.source_width = tiff.width;
    tile.source_height = tiff.height;
    decoded.too_large = tiff.too_large;
    if (!problem.empty()) return problem;
    if (tiff.needs_fallback) return decode_with_opencv(data, size, format, decoded);
    decoded.pixels = tiff.pixels;
    decoded.layout = tiff.rgb ? (tiff.samples == 3 ? Layout::Rgb : Layout::RgbExtra)
                              : tiff.samples == 1 ? Layout::Gray : tiff.gray_alpha ? Layout::GrayAlpha : Layout::Bands;
    decoded.depth_bits = tiff.bits;
    return "";
  }

  detail::HeaderSize header = format == ImageFormat::Png   ? detail::png_size(data, size)
                              : format == ImageFormat::Bmp ? detail::bmp_size(data, size)
                                                           : detail::webp_size(data, size);
  if (!header.error.empty()) return header.error;
  tile.source_width = static_cast<int>(std::min<int64_t>(header.width, INT32_MAX));
  tile.source_height = static_cast<int>(std::min<int64_t>(header.height, INT32_MAX));
  std::string too_big = detail::pixel_limit_problem(header.width, header.height, options.max_pixels);
  decoded.too_large = !too_big.empty();
  if (!too_big.empty()) return too_big;
  std::string damage = format == ImageFormat::Png   ? detail::png_structure_problem(data, size)
                       : format == ImageFormat::Bmp ? detail::bmp_structure_problem(data, size)
                                                    : detail::webp_structure_problem(data, size);
  if (!damage.empty()) return damage;
  return decode_with_opencv(data, size, format, decoded);
}

// The value at `rank` (0-based) of the sorted samples, from a histogram.
int histogram_rank(const std::vector<uint32_t>& histogram, uint64_t rank) {
  uint64_t seen = 0;
  for (size_t value = 0; value < histogram.size(); ++value) {
    seen += histogram[value];
    if (seen > rank) return static_cast<int>(value);
  }
  return static_cast<int>(histogram.size()) - 1;
}

// 16-bit, signed and float samples to 8 bits: one linear stretch of the 0.1..99.9 percentiles
// of all bands together (band ratios survive), with the gain capped at one output level per
// input unit for integer data so a nearly flat tile is not blown up into noise (docs/data.md).
cv::Mat to_eight_bit(const cv::Mat& source) {
  if (source.depth() == CV_8U) return source;
  cv::Mat flat = source.isContinuous() ? source : source.clone();
  size_t count = flat.total() * static_cast<size_t>(flat.channels());
  double low = 0, high = 0;
  bool integer = flat.depth() == CV_16U || flat.depth() == CV_16S;
  if (integer) {
    std::vector<uint32_t> histogram(65536, 0);
    int offset = flat.depth() == CV_16S ? 32768 : 0;
    if (flat.depth() == CV_16U) {
      const uint16_t* values = flat.ptr<uint16_t>();
      for (size_t i = 0; i < count; ++i) ++histogram[values[i]];
    } else {
      const int16_t* values = flat.ptr<int16_t>();
      for (size_t i = 0; i < count; ++i) ++histogram[values[i] + offset];
    }
    low = histogram_rank(histogram, static_cast<uint64_t>(std::floor(0.001 * double(count - 1)))) - offset;
    high = histogram_rank(histogram, static_cast<uint64_t>(std::ceil(0.999 * double(count - 1)))) - offset;
    if (high - low < 255) {
      double minimum = -offset, maximum = 65535 - offset;
      low = std::max(minimum, std::floor((low + high) / 2 - 127.5));
      high = std::min(maximum, low + 255);
      low = high - 255;
    }
  } else {
    cv::Mat as_float;
    flat.reshape(1, 1).convertTo(as_float, CV_32F);
    std::vector<float> values;
    // A strided sample bounds the sort for large float scenes; percentiles barely move.
    size_t stride = std::max<size_t>(1, count / (1u << 20));
    const float* all = as_float.ptr<float>();
    for (size_t i = 0; i < count; i += stride)
      if (std::isfinite(all[i])) values.push_back(all[i]);
    if (!values.empty()) {
      size_t low_rank = static_cast<size_t>(std::floor(0.001 * double(values.size() - 1)));
      size_t high_rank = static_cast<size_t>(std::ceil(0.999 * double(values.size() - 1)));
      std::nth_element(values.begin(), values.begin() + low_rank, values.end());
      low = values[low_rank];
      std::nth_element(values.begin(), values.begin() + high_rank, values.end());
      high = values[high_rank];
    }
    if (!(high > low)) high = low + 1;
  }
  cv::Mat result;
  double gain = 255.0 / (high - low);
  flat.convertTo(result, CV_8U, gain, -low * gain);
  return result;
}

cv::Mat first_channels(const cv::Mat& source, int count) {
  if (source.channels() == count) return source;
  cv::Mat result(source.size(), CV_MAKETYPE(source.depth(), count));
  std::vector<int> pairs;
  for (int c = 0; c < count; ++c) pairs.insert(pairs.end(), {c, c});
  cv::mixChannels(&source, 1, &result, 1, pairs.data(), static_cast<size_t>(count));
  return result;
}

// How the decoded channels become the requested ones (DecodeOptions::channels): keep the
// first `keep` channels (dropping alpha before the 16-bit stretch sees it), then maybe turn
// gray into RGB or RGB into luminance once the data is 8-bit.
struct ChannelPlan {
  int keep = 0;
  int colour_conversion = -1;  // a cv::COLOR_* code, or -1
  std::string problem;
};

ChannelPlan plan_channels(int have, Layout layout, int want) {
  ChannelPlan plan;
  plan.keep = have;
  if (want == 0 || (want == have && layout != Layout::GrayAlpha)) return plan;
  bool colour = layout == Layout::Rgb || layout == Layout::RgbExtra;
  bool gray = layout == Layout::Gray || layout == Layout::GrayAlpha;
  if (gray && (want == 1 || want == 3)) {
    plan.keep = 1;
    if (want == 3) plan.colour_conversion = cv::COLOR_GRAY2RGB;
  } else if (colour && (want == 1 || want == 3)) {
    plan.keep = 3;
    if (want == 1) plan.colour_conversion = cv::COLOR_RGB2GRAY;
  } else {
    plan.problem = "image has " + std::to_string(have) + " channel" + (have == 1 ? "" : "s") + " but " +
                   std::to_string(want) + " " + (want == 1 ? "was" : "were") + " requested";
  }
  return plan;
}

}  // namespace

bool has_image_extension(const std::string& path) {
  size_t dot = path.find_last_of('.');
  size_t slash = path.find_last_of("/\\");
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return false;
  std::string extension = path.substr(dot + 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const char* const known[] = {"jpg", "jpeg", "png", "tif", "tiff", "bmp", "webp"};
  return std::any_of(std::begin(known), std::end(known), [&](const char* name) { return extension == name; });
}

std::string read_file_bytes(const std::string& path, std::vector<uint8_t>& bytes) {
  bytes.clear();
  // O_NONBLOCK: opening a FIFO named like a tile must not wait for a writer that never comes;
  // fstat then refuses anything that is not a regular file before a byte is read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::string("cannot open: ") + std::strerror(errno);
  struct stat info {};
  std::string problem;
  if (::fstat(fd, &info) != 0) {
    problem = std::string("cannot read: ") + std::strerror(errno);
  } else if (!S_ISREG(info.st_mode)) {
    problem = S_ISDIR(info.st_mode)    ? "a folder, not an image file"
              : S_ISFIFO(info.st_mode) ? "a FIFO (named pipe), not an image file"
              : S_ISSOCK(info.st_mode) ? "a socket, not an image file"
                                       : "a device or other special file, not an image file";
  } else if (static_cast<uint64_t>(info.st_size) > kMaxTileFileBytes) {
    problem = "file of " + std::to_string(info.st_size) + " bytes is larger than any tile satx reads (" +
              std::to_string(kMaxTileFileBytes >> 20) + " MiB)";
  } else {
    bytes.resize(static_cast<size_t>(info.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        problem = std::string("cannot read: ") + (n < 0 ? std::strerror(errno) : "short read");
        break;
      }
      got += static_cast<size_t>(n);
    }
    bytes.resize(got);
  }
  ::close(fd);
  return problem;
}

cv::Mat resize_square(const cv::Mat& pixels, int size) {
  if (pixels.cols == size && pixels.rows == size) return pixels;
  const bool shrinking = pixels.cols > size || pixels.rows > size;
  const int interpolation = shrinking ? cv::INTER_AREA : cv::INTER_LINEAR;
  const cv::Size target(size, size);
  cv::Mat resized;
  if (pixels.channels() <= 4) {
    cv::resize(pixels, resized, target, 0, 0, interpolation);
  } else {
    // OpenCV's resize stops at 4 channels; multispectral tiles go band by band.
    std::vector<cv::Mat> bands;
    cv::split(pixels, bands);
    for (auto& band : bands) cv::resize(cv::Mat(band), band, target, 0, 0, interpolation);
    cv::merge(bands, resized);
  }
  return resized;
}

DecodeResult try_decode_tile_bytes(const std::vector<uint8_t>& bytes, const DecodeOptions& options) {
  return try_decode_tile_bytes(bytes.data(), bytes.size(), options);
}

DecodeResult try_decode_tile_bytes(const uint8_t* data, size_t size, const DecodeOptions& options) {
  DecodeResult result;
  if (options.channels < 0 || options.channels > CV_CN_MAX) {
    result.error = "cannot decode to " + std::to_string(options.channels) + " channels";
    return result;
  }
  Tile tile;
  Decoded decoded;
  try {
    result.error = decode_any(data, size, options, decoded, tile);
    if (!result.error.empty()) {
      result.too_large = decoded.too_large;
      return result;
    }
    tile.source_channels = decoded.pixels.channels();
    tile.source_depth = decoded.depth_bits;
    ChannelPlan plan = plan_channels(decoded.pixels.channels(), decoded.layout, options.channels);
    if (!plan.problem.empty()) {
      result.error = plan.problem;
      return result;
    }
    cv::Mat shaped = to_eight_bit(first_channels(decoded.pixels, plan.keep));
    if (plan.colour_conversion >= 0) cv::cvtColor(shaped, shaped, plan.colour_conversion);
    if (options.size > 0) shaped = resize_square(shaped, options.size);
    tile.pixels = shaped.isContinuous() ? shaped : shaped.clone();
  } catch (const cv::Exception& e) {
    result.error = "cannot decode (OpenCV: " + e.err + ")";
    return result;
  } catch (const std::bad_alloc&) {
    result.error = "out of memory while decoding";
    return result;
  }
  result.tile = std::move(tile);
  return result;
}

DecodeResult try_decode_tile(const std::string& path, const DecodeOptions& options) {
  std::vector<uint8_t> bytes;
  DecodeResult result;
  result.error = read_file_bytes(path, bytes);
  if (!result.error.empty()) return result;
  return try_decode_tile_bytes(bytes, options);
}

Tile decode_tile_bytes(const std::vector<uint8_t>& bytes, const std::string& origin, const DecodeOptions& options) {
  DecodeResult result = try_decode_tile_bytes(bytes, options);
  if (!result.tile) throw_bad_data(origin + ": " + result.error);
  return std::move(*result.tile);
}

Tile decode_tile(const std::string& path, const DecodeOptions& options) {
  DecodeResult result = try_decode_tile(path, options);
  if (!result.tile) throw_bad_data(path + ": " + result.error);
  return std::move(*result.tile);
}

void write_tiff(const std::string& path, const cv::Mat& pixels, bool rgb) {
  std::string problem = detail::write_tiff_file(path, pixels, rgb);
  if (!problem.empty()) throw_runtime("writing " + path + ": " + problem);
}

}  // namespace satx::io
