#pragma once
// Small pieces of the HTML report: escaping, number formatting, colours, inline thumbnails.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace satx::eval::detail {

/// `text` safe inside HTML text and attribute values (& < > " ' escaped).
std::string escape(std::string_view text);

/// Standard base64 (RFC 4648, with padding).
std::string base64(const uint8_t* data, size_t size);

/// `value` with `digits` decimals; "n/a" for NaN or infinity.
std::string fixed(double value, int digits = 4);

/// `value` as a percentage with one decimal ("97.3%"); "n/a" for NaN.
std::string percent(double value);

/// Three significant digits, the way axis ticks and learning rates read ("0.001", "3e-05").
std::string short_number(double value);

/// An integer with thin-space thousands separators ("10 000").
std::string count(int64_t value);

/// Seconds as "42 s", "3 min 05 s" or "2 h 04 min".
std::string duration(double seconds);

/// A CSS colour for a heat-map cell holding `fraction` (0..1) of its row; the diagonal (correct)
/// is blue, confusions are red.
std::string heat_colour(double fraction, bool diagonal);

/// What make_thumbnail produced: a data: URI, or why there is none.
struct Thumbnail {
  std::string uri;    ///< "data:image/jpeg;base64,..." or empty
  std::string error;  ///< the reason when uri is empty
};

/// The tile at `path` decoded (any format satx reads; 1, 3 or more bands, the first three shown
/// as RGB), shrunk to fit `size` px on its longer side and JPEG-encoded at `quality`. Never throws.
Thumbnail make_thumbnail(const std::string& path, int size, int quality);

}  // namespace satx::eval::detail
