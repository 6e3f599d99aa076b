#pragma once
/// Tile georeferencing from file names: slippy-map (Web-Mercator, XYZ) tile coordinates and
/// their WGS84 footprints.

#include <cstdint>
#include <optional>
#include <string>

namespace satx::io {

/// A slippy-map tile address (OpenStreetMap / Google / Label Maker convention: y grows south).
struct TileXYZ {
  int64_t z = 0;
  int64_t x = 0;
  int64_t y = 0;
  bool operator==(const TileXYZ& other) const { return z == other.z && x == other.x && y == other.y; }
};

/// A longitude/latitude box in degrees (WGS84).
struct LonLatBounds {
  double west = 0, south = 0, east = 0, north = 0;
};

/// The tile a path names, when it follows `.../{z}/{x}/{y}.ext` or `{x}-{y}-{z}.ext`
/// (Label Maker); nullopt otherwise, or when x/y lie outside the 2^z grid or z > 30.
/// The file-name form wins when both match.
std::optional<TileXYZ> parse_tile_path(const std::string& path);

/// The tile's footprint: west/east from x, north/south from y by the inverse Web-Mercator
/// projection (north = atan(sinh(pi * (1 - 2y / 2^z)))).
LonLatBounds tile_bounds(const TileXYZ& tile);

}  // namespace satx::io
