#include "io/detail/image_formats.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace satx::io::detail {

namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint32_t le24(const uint8_t* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16); }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

HeaderSize malformed(const std::string& what) {
  HeaderSize size;
  size.error = what;
  return size;
}

}  // namespace

ImageFormat detect_format(const uint8_t* data, size_t size) {
  static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return ImageFormat::Jpeg;
  if (size >= 8 && std::memcmp(data, png_magic, 8) == 0) return ImageFormat::Png;
  // Classic TIFF (42) and BigTIFF (43), both byte orders.
  if (size >= 4 && ((data[0] == 'I' && data[1] == 'I' && (data[2] == 42 || data[2] == 43) && data[3] == 0) ||
                    (data[0] == 'M' && data[1] == 'M' && data[2] == 0 && (data[3] == 42 || data[3] == 43))))
    return ImageFormat::Tiff;
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return ImageFormat::Bmp;
  if (size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0) return ImageFormat::Webp;
  return ImageFormat::Unknown;
}

const char* format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return "jpeg";
    case ImageFormat::Png: return "png";
    case ImageFormat::Tiff: return "tiff";
    case ImageFormat::Bmp: return "bmp";
    case ImageFormat::Webp: return "webp";
    case ImageFormat::Unknown: break;
  }
  return "unknown";
}

HeaderSize png_size(const uint8_t* data, size_t size) {
  if (size < 24 || std::memcmp(data + 12, "IHDR", 4) != 0) return malformed("truncated or malformed PNG header (no IHDR)");
  HeaderSize result;
  result.width = be32(data + 16);
  result.height = be32(data + 20);
  if (result.width == 0 || result.height == 0) return malformed("PNG header gives a zero width or height");
  return result;
}

HeaderSize bmp_size(const uint8_t* data, size_t size) {
  if (size < 26) return malformed("truncated BMP header");
  uint32_t dib = le32(data + 14);
  HeaderSize result;
  if (dib == 12) {
    result.width = le16(data + 18);
    result.height = le16(data + 20);
  } else if (dib >= 16) {
    result.width = static_cast<int32_t>(le32(data + 18));
    result.height = std::llabs(static_cast<int32_t>(le32(data + 22)));  // negative: top-down rows
  } else {
    return malformed("BMP header of unknown size " + std::to_string(dib));
  }
  if (result.width <= 0 || result.height <= 0) return malformed("BMP header gives a non-positive width or height");
  return result;
}

HeaderSize webp_size(const uint8_t* data, size_t size) {
  if (size < 30) return malformed("truncated WebP header");
  HeaderSize result;
  if (std::memcmp(data + 12, "VP8 ", 4) == 0) {
    if (data[23] != 0x9d || data[24] != 0x01 || data[25] != 0x2a) return malformed("WebP VP8 frame without its start code");
    result.width = le16(data + 26) & 0x3fff;
    result.height = le16(data + 28) & 0x3fff;
  } else if (std::memcmp(data + 12, "VP8L", 4) == 0) {
    if (data[20] != 0x2f) return malformed("WebP VP8L frame without its signature");
    uint32_t bits = le32(data + 21);
    result.width = (bits & 0x3fff) + 1;
    result.height = ((bits >> 14) & 0x3fff) + 1;
  } else if (std::memcmp(data + 12, "VP8X", 4) == 0) {
    result.width = int64_t(le24(data + 24)) + 1;
    result.height = int64_t(le24(data + 27)) + 1;
  } else {
    return malformed("WebP with an unknown first chunk");
  }
  if (result.width == 0 || result.height == 0) return malformed("WebP header gives a zero width or height");
  return result;
}

std::string png_structure_problem(const uint8_t* data, size_t size) {
  size_t offset = 8;
  bool first = true;
  while (offset + 8 <= size) {
    uint32_t length = be32(data + offset);
    char type[5] = {0};
    std::memcpy(type, data + offset + 4, 4);
    if (length > 0x7fffffffu) return std::string("corrupt PNG: chunk '") + type + "' has an impossible length";
    if (first && std::strcmp(type, "IHDR") != 0) return "corrupt PNG: the first chunk is not IHDR";
    first = false;
    if (offset + 12 + uint64_t(length) > size)
      return std::string("truncated PNG: chunk '") + type + "' runs past the end of the file";
    if (std::strcmp(type, "IEND") == 0) return "";
    offset += 12 + size_t(length);
  }
  return "truncated PNG: the file ends before its IEND chunk";
}

std::string bmp_structure_problem(const uint8_t* data, size_t size) {
  HeaderSize dimensions = bmp_size(data, size);
  if (!dimensions.error.empty()) return dimensions.error;
  uint32_t dib = le32(data + 14);
  if (dib < 40 || size < 34) return "";
  uint32_t pixel_offset = le32(data + 10);
  uint16_t bits = le16(data + 28);
  uint32_t compression = le32(data + 30);
  if (compression != 0 || bits == 0) return "";  // RLE and bit-field layouts: leave to the decoder
  uint64_t row_bytes = ((uint64_t(dimensions.width) * bits + 31) / 32) * 4;
  uint64_t needed = uint64_t(pixel_offset) + row_bytes * uint64_t(dimensions.height);
  if (needed > size)
    return "truncated BMP: the header needs " + std::to_string(needed) + " bytes, the file has " + std::to_string(size);
  return "";
}

std::string webp_structure_problem(const uint8_t* data, size_t size) {
  uint64_t needed = uint64_t(le32(data + 4)) + 8;
  if (needed > size)
    return "truncated WebP: the header needs " + std::to_string(needed) + " bytes, the file has " + std::to_string(size);
  return "";
}

std::string pixel_limit_problem(int64_t width, int64_t height, int64_t max_pixels) {
  if (width <= 0 || height <= 0 || max_pixels <= 0) return "";
  // Divide rather than multiply: a hostile header can make width*height overflow.
  if (width <= max_pixels / height) return "";
  double megapixels = double(max_pixels) / 1e6;
  char limit[32];
  if (megapixels >= 10) std::snprintf(limit, sizeof limit, "%.0f", std::floor(megapixels));
  else std::snprintf(limit, sizeof limit, "%.1f", megapixels);
  return std::to_string(width) + "x" + std::to_string(height) + " exceeds the " + limit + " MP limit";
}

std::string describe_start(const uint8_t* data, size_t size) {
  size_t shown = size < 8 ? size : 8;
  bool printable = shown > 0;
  for (size_t i = 0; i < shown; ++i)
    if (!std::isprint(data[i]) && data[i] != '\n' && data[i] != '\r' && data[i] != '\t') printable = false;
  std::string text;
  if (printable) {
    for (size_t i = 0; i < shown; ++i) text += std::isprint(data[i]) ? char(data[i]) : ' ';
    return "starts with \"" + text + "\"";
  }
  char hex[4];
  for (size_t i = 0; i < shown; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", data[i]);
    text += (i ? " " : "") + std::string(hex);
  }
  return "starts with bytes " + text;
}

}  // namespace satx::io::detail
