#include "eval/detail/html.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "satx/io/image.hpp"

namespace satx::eval::detail {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const uint8_t* data, size_t size) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    for (int shift : {18, 12, 6, 0}) out += alphabet[(v >> shift) & 63];
  }
  if (i < size) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (i + 1 < size ? uint32_t{data[i + 1]} << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < size ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string fixed(double value, int digits) {
  if (!std::isfinite(value)) return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

std::string percent(double value) {
  if (!std::isfinite(value)) return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * value);
  return text;
}

std::string short_number(double value) {
  if (!std::isfinite(value)) return "n/a";
  if (std::fabs(value) < 1e-12) return "0";
  char text[64];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

std::string count(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u2009";
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "n/a";
  char text[64];
  const auto whole = static_cast<int64_t>(std::llround(seconds));
  if (seconds < 60)
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  else if (whole < 3600)
    std::snprintf(text, sizeof text, "%lld min %02lld s", static_cast<long long>(whole / 60), static_cast<long long>(whole % 60));
  else
    std::snprintf(text, sizeof text, "%lld h %02lld min", static_cast<long long>(whole / 3600),
                  static_cast<long long>(whole / 60 % 60));
  return text;
}

std::string heat_colour(double fraction, bool diagonal) {
  if (!(fraction > 0)) return "transparent";
  // A floor keeps a single confused tile visible among thousands.
  const double alpha = std::clamp(0.08 + 0.92 * fraction, 0.0, 1.0);
  char text[64];
  std::snprintf(text, sizeof text, diagonal ? "rgba(31,119,180,%.3f)" : "rgba(214,39,40,%.3f)", alpha);
  return text;
}

Thumbnail make_thumbnail(const std::string& path, int size, int quality) {
  io::DecodeOptions decode;
  decode.channels = 0;  // as stored: a multispectral tile must not fail for not being RGB
  io::DecodeResult decoded = io::try_decode_tile(path, decode);
  if (!decoded.tile) return {"", decoded.error};
  const cv::Mat& pixels = decoded.tile->pixels;
  cv::Mat bgr;
  if (pixels.channels() == 1) {
    cv::cvtColor(pixels, bgr, cv::COLOR_GRAY2BGR);
  } else if (pixels.channels() == 2) {
    cv::extractChannel(pixels, bgr, 0);
    cv::cvtColor(bgr, bgr, cv::COLOR_GRAY2BGR);
  } else {
    std::vector<cv::Mat> bands;
    cv::split(pixels, bands);
    cv::merge(std::vector<cv::Mat>{bands[2], bands[1], bands[0]}, bgr);
  }
  const double scale = static_cast<double>(size) / std::max(bgr.cols, bgr.rows);
  if (scale < 1) {
    cv::Mat small;
    cv::resize(bgr, small, cv::Size(std::max(1, static_cast<int>(std::lround(bgr.cols * scale))),
                                    std::max(1, static_cast<int>(std::lround(bgr.rows * scale)))),
               0, 0, cv::INTER_AREA);
    bgr = small;
  }
  std::vector<uint8_t> jpeg;
  if (!cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, quality})) return {"", "JPEG encoding failed"};
  return {"data:image/jpeg;base64," + base64(jpeg.data(), jpeg.size()), ""};
}

}  // namespace satx::eval::detail
