// Small inline-SVG charts for the self-contained HTML report.
//
// The report must open offline with no external scripts, so every figure is drawn here as plain
// SVG markup: line charts (ROC curves, training curves), reliability diagrams, and colour scales
// for confusion-matrix cells. Torch-free and dependency-free; the caller escapes nothing.
#pragma once
#include <string>
#include <vector>

namespace skintriage::report {

/// One polyline of a line chart. Points with a non-finite x or y are skipped.
struct Series {
  std::string label;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
  bool dashed = false;
  bool markers = false;  ///< draw a dot at every point (short curves, e.g. few epochs)
};

struct PlotOptions {
  std::string id;          ///< element id of the <svg>
  std::string title;
  std::string x_label, y_label;
  bool auto_range = false; ///< fit the axes to the data instead of [x_min,x_max]x[y_min,y_max]
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  bool diagonal = false;   ///< draw the y = x reference line (ROC chance, perfect calibration)
  int width = 380, height = 300;
};

/// A line chart with axes, ticks, a legend and optional diagonal.
std::string svg_line_chart(const std::vector<Series>& series, const PlotOptions& options);

/// One bin of a reliability diagram.
struct ReliabilityBar {
  double lower = 0, upper = 0;  ///< confidence interval of the bin
  double confidence = 0;        ///< mean predicted confidence of the cases in the bin
  double accuracy = 0;          ///< fraction correct in the bin
  long count = 0;
};

/// Bars of observed accuracy per confidence bin, the diagonal, and a gap marker at mean confidence.
std::string svg_reliability(const std::vector<ReliabilityBar>& bins, const PlotOptions& options);

/// Background colour for a value in [0,1] on a white-to-blue scale; text colour chosen for contrast.
std::string heat_color(double v);
std::string heat_text_color(double v);

/// The categorical palette used for models / series (cycled).
const std::string& palette(size_t i);

/// Escapes &, <, >, " and ' for HTML text and attributes.
std::string html_escape(const std::string& s);

}  // namespace skintriage::report
