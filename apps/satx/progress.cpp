#include "progress.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "cli.hpp"

namespace satx::cli {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = static_cast<int64_t>(std::llround(seconds));
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(total / 3600), static_cast<long long>(total % 3600 / 60));
  else if (total >= 60)
    std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(total / 60), static_cast<long long>(total % 60));
  else
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(total));
  return text;
}

Progress::Progress(std::string label, int64_t total, std::string unit, int64_t every, bool silent)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      every_(every > 0 ? every : 50),
      terminal_(stderr_is_terminal()),
      silent_(silent),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::line(int64_t done, const Metrics& metrics, bool final) const {
  std::ostringstream out;
  if (!label_.empty()) out << label_ << " ";
  if (total_ > 0) {
    int width = static_cast<int>(std::to_string(total_).size());
    char count[64];
    std::snprintf(count, sizeof count, "%*lld/%lld", width, static_cast<long long>(done), static_cast<long long>(total_));
    out << count;
    if (terminal_) {
      const int bar = 30;
      int filled = static_cast<int>(bar * std::min<int64_t>(done, total_) / total_);
      out << " [" << std::string(std::max(0, filled - (done < total_ ? 1 : 0)), '=') << (done < total_ && filled > 0 ? ">" : "")
          << std::string(bar - filled, '.') << "]";
    }
  } else {
    out << done;
  }
  double seconds = elapsed();
  double per_unit = done > 0 ? seconds / done : 0.0;
  if (final) {
    out << " - " << format_duration(seconds);
  } else if (total_ > 0 && done > 0) {
    out << " - ETA " << format_duration(per_unit * (total_ - done));
  }
  // A rate from the first fraction of a second (one tile, one step) says nothing yet.
  if (done > 0 && (final || seconds >= 0.25)) {
    char rate[64];
    const bool sibilant = unit_.size() >= 2 && (unit_.compare(unit_.size() - 2, 2, "ch") == 0 || unit_.back() == 's');
    const std::string units = unit_ + (sibilant ? "es" : "s");
    if (per_unit >= 1e-3 || unit_ == "step")
      std::snprintf(rate, sizeof rate, " %.0fms/%s", per_unit * 1e3, unit_.c_str());
    else
      std::snprintf(rate, sizeof rate, " %.0f %s/s", done / std::max(seconds, 1e-9), units.c_str());
    out << rate;
  }
  for (const auto& [name, value] : metrics) {
    char text[64];
    std::snprintf(text, sizeof text, " - %s: %.4g", name.c_str(), value);
    out << text;
  }
  return out.str();
}

void Progress::update(int64_t done, const Metrics& metrics) {
  if (finished_ || silent_) return;
  done_ = done;
  auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    // Redrawing more than ~10 times a second costs time and shows nothing new.
    if (now - last_draw_ < std::chrono::milliseconds(100) && done != total_) return;
    last_draw_ = now;
    std::fprintf(stderr, "\r%s\033[K", line(done, metrics, false).c_str());
    std::fflush(stderr);
  } else if (done / every_ != last_printed_ / every_ || last_printed_ < 0) {
    if (done == 0) return;
    last_printed_ = done;
    std::fprintf(stderr, "%s\n", line(done, metrics, false).c_str());
  }
}

void Progress::finish(const Metrics& metrics) {
  if (finished_) return;
  finished_ = true;
  if (silent_) return;
  if (terminal_)
    std::fprintf(stderr, "\r%s\033[K\n", line(done_, metrics, true).c_str());
  else
    std::fprintf(stderr, "%s\n", line(done_, metrics, true).c_str());
  std::fflush(stderr);
}

}  // namespace satx::cli
