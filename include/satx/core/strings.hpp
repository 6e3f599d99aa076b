#pragma once
/// Small string and time helpers shared by every area.

#include <chrono>
#include <string>
#include <vector>

namespace satx {

/// `items` joined with `separator`; `empty` when there are none.
std::string join(const std::vector<std::string>& items, const std::string& separator = ", ",
                 const std::string& empty = "");

/// `items` each in single quotes, joined with ", ": 'a', 'b'.
std::string quoted_list(const std::vector<std::string>& items);

/// ASCII lower case.
std::string lower(std::string text);

bool starts_with(const std::string& text, const std::string& prefix);
bool ends_with(const std::string& text, const std::string& suffix);

/// Seconds of the steady clock since `start`.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace satx
