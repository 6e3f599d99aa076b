#include "satx/io/georef.hpp"

#include <cmath>
#include <filesystem>

namespace satx::io {

namespace {

constexpr int64_t kMaxZoom = 30;

// Digits only, no sign, not empty, small enough for int64 after the zoom check.
std::optional<int64_t> parse_index(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<TileXYZ> checked(std::optional<int64_t> z, std::optional<int64_t> x, std::optional<int64_t> y) {
  if (!z || !x || !y || *z > kMaxZoom) return std::nullopt;
  const int64_t side = int64_t{1} << *z;
  if (*x >= side || *y >= side) return std::nullopt;
  return TileXYZ{*z, *x, *y};
}

double longitude(int64_t x, int64_t z) { return static_cast<double>(x) / std::ldexp(1.0, static_cast<int>(z)) * 360.0 - 180.0; }

double latitude(int64_t y, int64_t z) {
  const double n = M_PI * (1.0 - 2.0 * static_cast<double>(y) / std::ldexp(1.0, static_cast<int>(z)));
  return std::atan(std::sinh(n)) * 180.0 / M_PI;
}

}  // namespace

std::optional<TileXYZ> parse_tile_path(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string stem = p.stem().string();

  // Label Maker: x-y-z.ext
  const size_t first = stem.find('-');
  const size_t second = first == std::string::npos ? std::string::npos : stem.find('-', first + 1);
  if (second != std::string::npos && stem.find('-', second + 1) == std::string::npos) {
    auto tile = checked(parse_index(stem.substr(second + 1)), parse_index(stem.substr(0, first)),
                        parse_index(stem.substr(first + 1, second - first - 1)));
    if (tile) return tile;
  }

  // {z}/{x}/{y}.ext
  const std::filesystem::path x_dir = p.parent_path();
  const std::filesystem::path z_dir = x_dir.parent_path();
  if (x_dir.empty() || x_dir == z_dir) return std::nullopt;
  return checked(parse_index(z_dir.filename().string()), parse_index(x_dir.filename().string()), parse_index(stem));
}

LonLatBounds tile_bounds(const TileXYZ& tile) {
  LonLatBounds bounds;
  bounds.west = longitude(tile.x, tile.z);
  bounds.east = longitude(tile.x + 1, tile.z);
  bounds.north = latitude(tile.y, tile.z);
  bounds.south = latitude(tile.y + 1, tile.z);
  return bounds;
}

}  // namespace satx::io
