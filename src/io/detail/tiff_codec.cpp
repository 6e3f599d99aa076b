#include "io/detail/tiff_codec.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <opencv2/core.hpp>
#include <tiffio.h>

#include "io/detail/image_formats.hpp"

namespace satx::io::detail {

namespace {

// libtiff reads from this instead of a file, so the loader's one read() is the only I/O.
struct MemoryStream {
  const uint8_t* data;
  toff_t size;
  toff_t position;
  std::string first_error;
};

tmsize_t stream_read(thandle_t handle, void* buffer, tmsize_t count) {
  auto* stream = static_cast<MemoryStream*>(handle);
  if (stream->position >= stream->size || count <= 0) return 0;
  toff_t available = stream->size - stream->position;
  toff_t n = std::min<toff_t>(available, static_cast<toff_t>(count));
  std::memcpy(buffer, stream->data + stream->position, n);
  stream->position += n;
  return static_cast<tmsize_t>(n);
}
tmsize_t stream_write(thandle_t, void*, tmsize_t) { return 0; }
toff_t stream_seek(thandle_t handle, toff_t offset, int whence) {
  auto* stream = static_cast<MemoryStream*>(handle);
  toff_t base = whence == SEEK_CUR ? stream->position : whence == SEEK_END ? stream->size : 0;
  stream->position = base + offset;
  return stream->position;
}
int stream_close(thandle_t) { return 0; }
toff_t stream_size(thandle_t handle) { return static_cast<MemoryStream*>(handle)->size; }
int stream_map(thandle_t handle, void** base, toff_t* size) {
  auto* stream = static_cast<MemoryStream*>(handle);
  *base = const_cast<uint8_t*>(stream->data);
  *size = stream->size;
  return 1;
}
void stream_unmap(thandle_t, void*, toff_t) {}

#if TIFFLIB_VERSION >= 20221213
// libtiff >= 4.5 routes messages per handle: keep the first error for the BadData reason and
// print nothing.
int record_error(TIFF*, void* user_data, const char* module, const char* format, va_list args) {
  auto* stream = static_cast<MemoryStream*>(user_data);
  if (stream->first_error.empty()) {
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    stream->first_error = std::string(module ? module : "libtiff") + ": " + text;
  }
  return 1;
}
int ignore_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }
#endif

TIFF* open_memory(MemoryStream& stream) {
#if TIFFLIB_VERSION >= 20221213
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options, record_error, &stream);
  TIFFOpenOptionsSetWarningHandlerExtR(options, ignore_warning, nullptr);
  TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(1) << 30);
  TIFF* tiff = TIFFClientOpenExt("memory", "r", &stream, stream_read, stream_write, stream_seek, stream_close,
                                 stream_size, stream_map, stream_unmap, options);
  TIFFOpenOptionsFree(options);
  return tiff;
#else
  return TIFFClientOpen("memory", "r", &stream, stream_read, stream_write, stream_seek, stream_close, stream_size,
                        stream_map, stream_unmap);
#endif
}

struct TiffCloser {
  void operator()(TIFF* tiff) const { TIFFClose(tiff); }
};

int cv_depth(uint16_t format, uint16_t bits) {
  if (format == SAMPLEFORMAT_UINT && bits == 8) return CV_8U;
  if (format == SAMPLEFORMAT_UINT && bits == 16) return CV_16U;
  if (format == SAMPLEFORMAT_INT && bits == 16) return CV_16S;
  if (format == SAMPLEFORMAT_IEEEFP && bits == 32) return CV_32F;
  return -1;
}

std::string with_detail(const std::string& what, const MemoryStream& stream) {
  return stream.first_error.empty() ? what : what + " (" + stream.first_error + ")";
}

// Copies a decoded strip or tile (`rows` x `columns`, `channels` interleaved samples) into
// `image` at (`x`, `y`), into all channels or into channel `plane` only (planar TIFFs).
void place_block(const std::vector<uint8_t>& block, int block_width, int rows, int columns, int channels,
                 int x, int y, int plane, cv::Mat& image) {
  int depth = image.depth();
  cv::Mat source(rows, block_width, CV_MAKETYPE(depth, channels), const_cast<uint8_t*>(block.data()));
  cv::Mat target = image(cv::Rect(x, y, columns, rows));
  if (plane < 0) {
    source(cv::Rect(0, 0, columns, rows)).copyTo(target);
  } else {
    int pairs[2] = {0, plane};
    cv::Mat part = source(cv::Rect(0, 0, columns, rows));
    cv::mixChannels(&part, 1, &target, 1, pairs, 1);
  }
}

}  // namespace

std::string read_tiff(const uint8_t* data, size_t size, int64_t max_pixels, TiffImage& image) {
  MemoryStream stream{data, static_cast<toff_t>(size), 0, {}};
  std::unique_ptr<TIFF, TiffCloser> tiff(open_memory(stream));
  if (!tiff) return with_detail("corrupt TIFF: cannot read its header", stream);

  uint32_t width = 0, height = 0;
  uint16_t samples = 1, bits = 1, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG, photometric = 0;
  if (!TIFFGetField(tiff.get(), TIFFTAG_IMAGEWIDTH, &width) || !TIFFGetField(tiff.get(), TIFFTAG_IMAGELENGTH, &height) ||
      width == 0 || height == 0)
    return with_detail("corrupt TIFF: no image width or height", stream);
  TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_PLANARCONFIG, &planar);
  if (!TIFFGetField(tiff.get(), TIFFTAG_PHOTOMETRIC, &photometric))
    photometric = samples >= 3 && samples <= 4 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.samples = samples;
  image.bits = bits;

  std::string too_big = pixel_limit_problem(width, height, max_pixels);
  image.too_large = !too_big.empty();
  if (image.too_large) return too_big;
  // Bands multiply memory too: allow as many samples as a max_pixels RGBA image has.
  image.too_large = samples > CV_CN_MAX || double(width) * height * samples > double(max_pixels) * 4;
  if (image.too_large)
    return std::to_string(width) + "x" + std::to_string(height) + " with " + std::to_string(samples) +
           " bands exceeds the sample limit (" + std::to_string(max_pixels / 1000000 * 4) + " M samples)";

  int depth = cv_depth(format, bits);
  bool plain = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_RGB;
  if (depth < 0 || !plain || (photometric == PHOTOMETRIC_RGB && samples < 3)) {
    image.needs_fallback = true;
    return "";
  }
  image.rgb = photometric == PHOTOMETRIC_RGB;
  uint16_t extra_count = 0;
  uint16_t* extra_types = nullptr;
  if (photometric == PHOTOMETRIC_MINISBLACK && samples == 2 &&
      TIFFGetField(tiff.get(), TIFFTAG_EXTRASAMPLES, &extra_count, &extra_types) && extra_count == 1 &&
      extra_types[0] != EXTRASAMPLE_UNSPECIFIED)
    image.gray_alpha = true;

  image.pixels.create(static_cast<int>(height), static_cast<int>(width), CV_MAKETYPE(depth, samples));
  bool separate = planar == PLANARCONFIG_SEPARATE && samples > 1;
  int block_channels = separate ? 1 : samples;
  int planes = separate ? samples : 1;
  size_t sample_bytes = CV_ELEM_SIZE1(depth);

  if (TIFFIsTiled(tiff.get())) {
    uint32_t tile_width = 0, tile_height = 0;
    TIFFGetField(tiff.get(), TIFFTAG_TILEWIDTH, &tile_width);
    TIFFGetField(tiff.get(), TIFFTAG_TILELENGTH, &tile_height);
    if (tile_width == 0 || tile_height == 0) return with_detail("corrupt TIFF: zero tile size", stream);
    size_t tile_bytes = size_t(tile_width) * tile_height * block_channels * sample_bytes;
    std::vector<uint8_t> block(tile_bytes);
    for (int plane = 0; plane < planes; ++plane)
      for (uint32_t y = 0; y < height; y += tile_height)
        for (uint32_t x = 0; x < width; x += tile_width) {
          ttile_t index = TIFFComputeTile(tiff.get(), x, y, 0, static_cast<uint16_t>(plane));
          if (TIFFReadEncodedTile(tiff.get(), index, block.data(), static_cast<tmsize_t>(tile_bytes)) < 0)
            return with_detail("corrupt or truncated TIFF: tile " + std::to_string(index) + " unreadable", stream);
          int rows = static_cast<int>(std::min(tile_height, height - y));
          int columns = static_cast<int>(std::min(tile_width, width - x));
          place_block(block, static_cast<int>(tile_width), rows, columns, block_channels, static_cast<int>(x),
                      static_cast<int>(y), separate ? plane : -1, image.pixels);
        }
  } else {
    uint32_t rows_per_strip = height;
    TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    rows_per_strip = std::clamp<uint32_t>(rows_per_strip, 1, height);
    size_t row_bytes = size_t(width) * block_channels * sample_bytes;
    std::vector<uint8_t> block(row_bytes * rows_per_strip);
    for (int plane = 0; plane < planes; ++plane)
      for (uint32_t y = 0; y < height; y += rows_per_strip) {
        int rows = static_cast<int>(std::min(rows_per_strip, height - y));
        tstrip_t index = TIFFComputeStrip(tiff.get(), y, static_cast<uint16_t>(plane));
        tmsize_t wanted = static_cast<tmsize_t>(row_bytes * rows);
        if (TIFFReadEncodedStrip(tiff.get(), index, block.data(), wanted) < wanted)
          return with_detail("corrupt or truncated TIFF: strip " + std::to_string(index) + " unreadable", stream);
        place_block(block, static_cast<int>(width), rows, static_cast<int>(width), block_channels, 0,
                    static_cast<int>(y), separate ? plane : -1, image.pixels);
      }
  }
  return "";
}

std::string write_tiff_file(const std::string& path, const cv::Mat& pixels, bool rgb) {
  if (pixels.empty() || (pixels.depth() != CV_8U && pixels.depth() != CV_16U))
    return "only non-empty 8- or 16-bit unsigned images can be written";
  if (rgb && pixels.channels() < 3) return "an RGB TIFF needs at least 3 channels";
  std::unique_ptr<TIFF, TiffCloser> tiff(TIFFOpen(path.c_str(), "w"));
  if (!tiff) return "cannot create the file";
  uint16_t samples = static_cast<uint16_t>(pixels.channels());
  TIFFSetField(tiff.get(), TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(pixels.cols));
  TIFFSetField(tiff.get(), TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(pixels.rows));
  TIFFSetField(tiff.get(), TIFFTAG_SAMPLESPERPIXEL, samples);
  TIFFSetField(tiff.get(), TIFFTAG_BITSPERSAMPLE, static_cast<uint16_t>(pixels.depth() == CV_8U ? 8 : 16));
  TIFFSetField(tiff.get(), TIFFTAG_SAMPLEFORMAT, static_cast<uint16_t>(SAMPLEFORMAT_UINT));
  TIFFSetField(tiff.get(), TIFFTAG_PLANARCONFIG, static_cast<uint16_t>(PLANARCONFIG_CONTIG));
  TIFFSetField(tiff.get(), TIFFTAG_PHOTOMETRIC, static_cast<uint16_t>(rgb ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK));
  TIFFSetField(tiff.get(), TIFFTAG_COMPRESSION, static_cast<uint16_t>(COMPRESSION_ADOBE_DEFLATE));
  TIFFSetField(tiff.get(), TIFFTAG_PREDICTOR, static_cast<uint16_t>(PREDICTOR_HORIZONTAL));
  TIFFSetField(tiff.get(), TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tiff.get(), 0));
  int colour = rgb ? 3 : 1;
  if (samples > colour) {
    std::vector<uint16_t> extra(samples - colour, rgb ? EXTRASAMPLE_UNASSALPHA : EXTRASAMPLE_UNSPECIFIED);
    if (rgb) std::fill(extra.begin() + 1, extra.end(), static_cast<uint16_t>(EXTRASAMPLE_UNSPECIFIED));
    TIFFSetField(tiff.get(), TIFFTAG_EXTRASAMPLES, static_cast<uint16_t>(extra.size()), extra.data());
  }
  // libtiff applies the horizontal predictor in place, so each row goes through a scratch copy
  // and the caller's image stays as it was.
  std::vector<uint8_t> row(pixels.cols * pixels.elemSize());
  for (int y = 0; y < pixels.rows; ++y) {
    std::memcpy(row.data(), pixels.ptr(y), row.size());
    if (TIFFWriteScanline(tiff.get(), row.data(), static_cast<uint32_t>(y), 0) < 0)
      return "writing row " + std::to_string(y) + " failed";
  }
  return "";
}

}  // namespace satx::io::detail
