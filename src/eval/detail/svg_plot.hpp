#pragma once
// Line charts as inline SVG for the HTML report: axes with round ticks, series as polylines,
// shaded bands (training phases), vertical rules (events) and labelled points (operating points).

#include <optional>
#include <string>
#include <vector>

namespace satx::eval::detail {

/// One line. Points whose y is NaN break the line.
struct PlotSeries {
  std::string name;
  std::string colour;
  std::vector<double> x, y;
  bool dashed = false;
  bool markers = true;  ///< a dot at every point (left out above 60 points)
};

/// A shaded stretch of the x axis with a label at its top (a training phase).
struct PlotBand {
  double from = 0, to = 0;
  std::string label;
};

/// A vertical rule with a tooltip (a collapse roll-back).
struct PlotRule {
  double x = 0;
  std::string label;
  std::string colour = "#d62728";
};

/// A labelled point (the operating threshold on a curve).
struct PlotPoint {
  double x = 0, y = 0;
  std::string label;
  std::string colour = "#d62728";
};

/// A chart; the axis ranges default to the data's, widened to round ticks.
struct Plot {
  std::string title, x_label, y_label;
  int width = 520, height = 280;
  std::optional<double> x_min, x_max, y_min, y_max;
  bool integer_x = false;  ///< ticks on whole numbers only (epochs)
  bool diagonal = false;   ///< a dotted y = x line (the chance line of a ROC curve)
  std::vector<PlotSeries> series;
  std::vector<PlotBand> bands;
  std::vector<PlotRule> rules;
  std::vector<PlotPoint> points;
};

/// The chart as an <svg> element (text escaped), with a legend when there are several series.
std::string render_svg(const Plot& plot);

/// At most `limit` of the indices 0..size-1, evenly spaced, always keeping the first and last.
std::vector<size_t> thin_indices(size_t size, size_t limit);

}  // namespace satx::eval::detail
