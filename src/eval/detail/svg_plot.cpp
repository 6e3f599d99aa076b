#include "eval/detail/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "eval/detail/html.hpp"

namespace satx::eval::detail {

namespace {

constexpr double kLeft = 66, kRight = 14, kTop = 44, kBottom = 42;

struct Axis {
  double min = 0, max = 1;
  std::vector<double> ticks;
};

// 1, 2 or 5 times a power of ten, so about `target` ticks cover the range.
double round_step(double range, int target, bool integer) {
  const double raw = range / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * power) {
      step = m * power;
      break;
    }
  return integer ? std::max(1.0, std::round(step)) : step;
}

Axis make_axis(double low, double high, std::optional<double> fixed_min, std::optional<double> fixed_max, bool integer) {
  if (fixed_min) low = *fixed_min;
  if (fixed_max) high = *fixed_max;
  if (!(high > low)) {  // one value: give it room
    const double pad = low == 0 ? 1.0 : std::fabs(low) * 0.1;
    low -= fixed_min ? 0 : pad;
    high += pad;
  }
  Axis axis;
  const double step = round_step(high - low, 5, integer);
  axis.min = fixed_min ? *fixed_min : std::floor(low / step) * step;
  axis.max = fixed_max ? *fixed_max : std::ceil(high / step) * step;
  for (double t = std::ceil(axis.min / step - 1e-9) * step; t <= axis.max + step * 1e-9; t += step)
    axis.ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return axis;
}

std::string coordinate(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

void extend(double value, double& low, double& high) {
  if (!std::isfinite(value)) return;
  low = std::min(low, value);
  high = std::max(high, value);
}

}  // namespace

std::vector<size_t> thin_indices(size_t size, size_t limit) {
  std::vector<size_t> kept;
  if (size == 0 || limit == 0) return kept;
  if (size <= limit || limit == 1) {
    for (size_t i = 0; i < std::min(size, limit); ++i) kept.push_back(i);
    return kept;
  }
  for (size_t k = 0; k < limit; ++k) {
    const auto index = static_cast<size_t>(std::llround(static_cast<double>(k) * static_cast<double>(size - 1) /
                                                        static_cast<double>(limit - 1)));
    if (kept.empty() || index != kept.back()) kept.push_back(index);
  }
  return kept;
}

std::string render_svg(const Plot& plot) {
  const double inf = std::numeric_limits<double>::infinity();
  double x_low = inf, x_high = -inf, y_low = inf, y_high = -inf;
  for (const auto& s : plot.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.y[i])) {
        extend(s.x[i], x_low, x_high);
        extend(s.y[i], y_low, y_high);
      }
  for (const auto& p : plot.points) {
    extend(p.x, x_low, x_high);
    extend(p.y, y_low, y_high);
  }
  for (const auto& band : plot.bands) {
    extend(band.from, x_low, x_high);
    extend(band.to, x_low, x_high);
  }
  const std::string size_attributes = "viewBox=\"0 0 " + std::to_string(plot.width) + " " + std::to_string(plot.height) +
                                      "\" width=\"" + std::to_string(plot.width) + "\" height=\"" +
                                      std::to_string(plot.height) + "\" role=\"img\" aria-label=\"" + escape(plot.title) + "\"";
  std::string svg = "<svg class=\"chart\" " + size_attributes + "><title>" + escape(plot.title) + "</title>";
  svg += "<text class=\"chart-title\" x=\"" + coordinate(kLeft) + "\" y=\"16\">" + escape(plot.title) + "</text>";
  if (!(x_high >= x_low) || !(y_high >= y_low)) {
    return svg + "<text class=\"note\" x=\"" + coordinate(plot.width / 2.0) + "\" y=\"" + coordinate(plot.height / 2.0) +
           "\" text-anchor=\"middle\">no data</text></svg>";
  }
  const Axis ax = make_axis(x_low, x_high, plot.x_min, plot.x_max, plot.integer_x);
  const Axis ay = make_axis(y_low, y_high, plot.y_min, plot.y_max, false);
  const double left = kLeft, right = plot.width - kRight, top = kTop, bottom = plot.height - kBottom;
  const auto sx = [&](double x) { return left + (x - ax.min) / (ax.max - ax.min) * (right - left); };
  const auto sy = [&](double y) { return bottom - (y - ay.min) / (ay.max - ay.min) * (bottom - top); };

  for (size_t b = 0; b < plot.bands.size(); ++b) {
    const auto& band = plot.bands[b];
    const double from = std::max(left, sx(band.from)), to = std::min(right, sx(band.to));
    svg += "<rect class=\"band" + std::to_string(b % 2) + "\" x=\"" + coordinate(from) + "\" y=\"" + coordinate(top) +
           "\" width=\"" + coordinate(std::max(0.0, to - from)) + "\" height=\"" + coordinate(bottom - top) + "\"/>";
    svg += "<text class=\"band-label\" x=\"" + coordinate(from + 4) + "\" y=\"" + coordinate(top + 12) + "\">" +
           escape(band.label) + "</text>";
  }
  for (double t : ax.ticks) {
    svg += "<line class=\"grid\" x1=\"" + coordinate(sx(t)) + "\" x2=\"" + coordinate(sx(t)) + "\" y1=\"" + coordinate(top) +
           "\" y2=\"" + coordinate(bottom) + "\"/>";
    svg += "<text class=\"tick\" x=\"" + coordinate(sx(t)) + "\" y=\"" + coordinate(bottom + 14) +
           "\" text-anchor=\"middle\">" + short_number(t) + "</text>";
  }
  for (double t : ay.ticks) {
    svg += "<line class=\"grid\" x1=\"" + coordinate(left) + "\" x2=\"" + coordinate(right) + "\" y1=\"" + coordinate(sy(t)) +
           "\" y2=\"" + coordinate(sy(t)) + "\"/>";
    svg += "<text class=\"tick\" x=\"" + coordinate(left - 5) + "\" y=\"" + coordinate(sy(t) + 4) +
           "\" text-anchor=\"end\">" + short_number(t) + "</text>";
  }
  svg += "<rect class=\"frame\" x=\"" + coordinate(left) + "\" y=\"" + coordinate(top) + "\" width=\"" +
         coordinate(right - left) + "\" height=\"" + coordinate(bottom - top) + "\"/>";
  svg += "<text class=\"axis-label\" x=\"" + coordinate((left + right) / 2) + "\" y=\"" + coordinate(plot.height - 6.0) +
         "\" text-anchor=\"middle\">" + escape(plot.x_label) + "</text>";
  svg += "<text class=\"axis-label\" transform=\"translate(12 " + coordinate((top + bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape(plot.y_label) + "</text>";
  if (plot.diagonal) {
    const double low = std::max(ax.min, ay.min), high = std::min(ax.max, ay.max);
    svg += "<line class=\"diagonal\" x1=\"" + coordinate(sx(low)) + "\" y1=\"" + coordinate(sy(low)) + "\" x2=\"" +
           coordinate(sx(high)) + "\" y2=\"" + coordinate(sy(high)) + "\"/>";
  }
  for (const auto& rule : plot.rules) {
    svg += "<line class=\"rule\" stroke=\"" + escape(rule.colour) + "\" x1=\"" + coordinate(sx(rule.x)) + "\" x2=\"" +
           coordinate(sx(rule.x)) + "\" y1=\"" + coordinate(top) + "\" y2=\"" + coordinate(bottom) + "\"><title>" +
           escape(rule.label) + "</title></line>";
  }
  for (const auto& s : plot.series) {
    const std::string style = "stroke=\"" + escape(s.colour) + "\"" + (s.dashed ? " stroke-dasharray=\"5 3\"" : "");
    std::string points;
    const auto flush = [&] {
      if (!points.empty()) svg += "<polyline class=\"line\" " + style + " points=\"" + points + "\"/>";
      points.clear();
    };
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) {
        flush();
        continue;
      }
      points += (points.empty() ? "" : " ") + coordinate(sx(s.x[i])) + "," + coordinate(sy(s.y[i]));
    }
    flush();
    if (s.markers && s.x.size() <= 60)
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (std::isfinite(s.y[i]))
          svg += "<circle class=\"dot\" fill=\"" + escape(s.colour) + "\" cx=\"" + coordinate(sx(s.x[i])) + "\" cy=\"" +
                 coordinate(sy(s.y[i])) + "\" r=\"2.5\"><title>" + escape(s.name) + " " + short_number(s.x[i]) + ": " +
                 short_number(s.y[i]) + "</title></circle>";
  }
  for (const auto& p : plot.points) {
    const double cx = sx(p.x), cy = sy(p.y);
    svg += "<circle class=\"operating\" stroke=\"" + escape(p.colour) + "\" cx=\"" + coordinate(cx) + "\" cy=\"" +
           coordinate(cy) + "\" r=\"5.5\"><title>" + escape(p.label) + "</title></circle>";
    const bool to_left = cx > (left + right) / 2;
    svg += "<text class=\"point-label\" fill=\"" + escape(p.colour) + "\" x=\"" + coordinate(cx + (to_left ? -9 : 9)) +
           "\" y=\"" + coordinate(cy + (cy < top + 20 ? 16 : -8)) + "\" text-anchor=\"" + (to_left ? "end" : "start") +
           "\">" + escape(p.label) + "</text>";
  }
  if (plot.series.size() > 1) {
    double x = left;
    for (const auto& s : plot.series) {
      svg += "<line class=\"line\" stroke=\"" + escape(s.colour) + "\"" + (s.dashed ? " stroke-dasharray=\"5 3\"" : "") +
             " x1=\"" + coordinate(x) + "\" x2=\"" + coordinate(x + 18) + "\" y1=\"30\" y2=\"30\"/>";
      svg += "<text class=\"legend\" x=\"" + coordinate(x + 22) + "\" y=\"34\">" + escape(s.name) + "</text>";
      x += 34 + 7.0 * static_cast<double>(s.name.size());
    }
  }
  return svg + "</svg>";
}

}  // namespace satx::eval::detail
