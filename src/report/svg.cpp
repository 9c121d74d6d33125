#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace skintriage::report {

namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// "Nice" tick positions covering [lo, hi] (about five of them).
std::vector<double> ticks(double lo, double hi) {
  std::vector<double> out;
  double span = hi - lo;
  if (!(span > 0) || !std::isfinite(span)) return {lo};
  double raw = span / 5.0;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push_back(t);
  return out;
}

std::string tick_label(double v) {
  char buf[32];
  double a = std::fabs(v);
  if (a != 0 && (a >= 10000 || a < 0.001)) {
    std::snprintf(buf, sizeof buf, "%.1e", v);
  } else if (std::fabs(v - std::round(v)) < 1e-9) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

struct Frame {
  double left = 52, right = 12, top = 28, bottom = 42;
  double w = 0, h = 0;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (w - left - right); }
  double py(double y) const { return top + (1.0 - (y - y0) / (y1 - y0)) * (h - top - bottom); }
};

std::string open_svg(const PlotOptions& o) {
  std::ostringstream s;
  s << "<svg class=\"chart\"";
  if (!o.id.empty()) s << " id=\"" << html_escape(o.id) << "\"";
  s << " width=\"" << o.width << "\" height=\"" << o.height << "\" viewBox=\"0 0 " << o.width << " "
    << o.height << "\" role=\"img\" aria-label=\"" << html_escape(o.title) << "\">";
  s << "<title>" << html_escape(o.title) << "</title>";
  return s.str();
}

std::string axes(const Frame& f, const PlotOptions& o) {
  std::ostringstream s;
  double bx = f.px(f.x0), by = f.py(f.y0), tx = f.px(f.x1), ty = f.py(f.y1);
  s << "<rect x=\"" << num(bx) << "\" y=\"" << num(ty) << "\" width=\"" << num(tx - bx) << "\" height=\""
    << num(by - ty) << "\" fill=\"#fff\" stroke=\"#999\"/>";
  for (double t : ticks(f.x0, f.x1)) {
    double x = f.px(t);
    s << "<line x1=\"" << num(x) << "\" y1=\"" << num(ty) << "\" x2=\"" << num(x) << "\" y2=\"" << num(by)
      << "\" stroke=\"#eee\"/>";
    s << "<text x=\"" << num(x) << "\" y=\"" << num(by + 14) << "\" font-size=\"10\" text-anchor=\"middle\">"
      << tick_label(t) << "</text>";
  }
  for (double t : ticks(f.y0, f.y1)) {
    double y = f.py(t);
    s << "<line x1=\"" << num(bx) << "\" y1=\"" << num(y) << "\" x2=\"" << num(tx) << "\" y2=\"" << num(y)
      << "\" stroke=\"#eee\"/>";
    s << "<text x=\"" << num(bx - 4) << "\" y=\"" << num(y + 3) << "\" font-size=\"10\" text-anchor=\"end\">"
      << tick_label(t) << "</text>";
  }
  s << "<rect x=\"" << num(bx) << "\" y=\"" << num(ty) << "\" width=\"" << num(tx - bx) << "\" height=\""
    << num(by - ty) << "\" fill=\"none\" stroke=\"#666\"/>";
  s << "<text x=\"" << num((bx + tx) / 2) << "\" y=\"" << num(f.h - 6)
    << "\" font-size=\"11\" text-anchor=\"middle\">" << html_escape(o.x_label) << "</text>";
  s << "<text transform=\"translate(12," << num((by + ty) / 2) << ") rotate(-90)\" font-size=\"11\""
    << " text-anchor=\"middle\">" << html_escape(o.y_label) << "</text>";
  s << "<text x=\"" << num(o.width / 2.0) << "\" y=\"16\" font-size=\"12\" font-weight=\"bold\""
    << " text-anchor=\"middle\">" << html_escape(o.title) << "</text>";
  if (o.diagonal) {
    s << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\"" << num(f.px(f.x1))
      << "\" y2=\"" << num(f.py(f.y1)) << "\" stroke=\"#aaa\" stroke-dasharray=\"4 3\"/>";
  }
  return s.str();
}

}  // namespace

const std::string& palette(size_t i) {
  static const std::vector<std::string> colors = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                  "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  return colors[i % colors.size()];
}

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
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

std::string svg_line_chart(const std::vector<Series>& series, const PlotOptions& o) {
  Frame f;
  f.w = o.width;
  f.h = o.height;
  f.x0 = o.x_min, f.x1 = o.x_max, f.y0 = o.y_min, f.y1 = o.y_max;
  if (o.auto_range) {
    double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
    for (const auto& se : series) {
      for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
        if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i])) continue;
        xl = std::min(xl, se.x[i]), xh = std::max(xh, se.x[i]);
        yl = std::min(yl, se.y[i]), yh = std::max(yh, se.y[i]);
      }
    }
    if (std::isfinite(xl)) {
      if (xh - xl < 1e-12) xl -= 0.5, xh += 0.5;
      if (yh - yl < 1e-12) yl -= 0.5, yh += 0.5;
      double pad = (yh - yl) * 0.05;
      f.x0 = xl, f.x1 = xh, f.y0 = yl - pad, f.y1 = yh + pad;
    }
  }
  std::ostringstream s;
  s << open_svg(o) << axes(f, o);
  double legend_y = f.py(f.y1) + 12;
  size_t drawn = 0;
  for (const auto& se : series) {
    std::ostringstream pts;
    int n = 0;
    for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
      if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i])) continue;
      pts << (n ? " " : "") << num(f.px(se.x[i])) << "," << num(f.py(se.y[i]));
      ++n;
    }
    if (n == 0) continue;
    s << "<polyline class=\"series\" data-label=\"" << html_escape(se.label) << "\" fill=\"none\" stroke=\""
      << se.color << "\" stroke-width=\"1.8\"" << (se.dashed ? " stroke-dasharray=\"5 3\"" : "")
      << " points=\"" << pts.str() << "\"/>";
    if (se.markers) {
      for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
        if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i])) continue;
        s << "<circle cx=\"" << num(f.px(se.x[i])) << "\" cy=\"" << num(f.py(se.y[i])) << "\" r=\"2.2\" fill=\""
          << se.color << "\"/>";
      }
    }
    // Legend inside the plot, top-right, one line per series.
    double lx = f.px(f.x1) - 150;
    double ly = legend_y + 13.0 * static_cast<double>(drawn);
    s << "<line x1=\"" << num(lx) << "\" y1=\"" << num(ly - 3) << "\" x2=\"" << num(lx + 16) << "\" y2=\""
      << num(ly - 3) << "\" stroke=\"" << se.color << "\" stroke-width=\"2\""
      << (se.dashed ? " stroke-dasharray=\"5 3\"" : "") << "/>";
    s << "<text x=\"" << num(lx + 20) << "\" y=\"" << num(ly) << "\" font-size=\"10\">" << html_escape(se.label)
      << "</text>";
    ++drawn;
  }
  if (drawn == 0) {
    s << "<text x=\"" << num(o.width / 2.0) << "\" y=\"" << num(o.height / 2.0)
      << "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#888\">no data</text>";
  }
  s << "</svg>";
  return s.str();
}

std::string svg_reliability(const std::vector<ReliabilityBar>& bins, const PlotOptions& o) {
  Frame f;
  f.w = o.width;
  f.h = o.height;
  PlotOptions opt = o;
  opt.diagonal = true;
  std::ostringstream s;
  s << open_svg(opt) << axes(f, opt);
  long total = 0;
  for (const auto& b : bins) total += b.count;
  for (const auto& b : bins) {
    if (b.count <= 0) continue;
    double x0 = f.px(b.lower), x1 = f.px(b.upper);
    double y = f.py(std::clamp(b.accuracy, 0.0, 1.0));
    double base = f.py(0);
    s << "<rect class=\"bin\" x=\"" << num(x0 + 0.5) << "\" y=\"" << num(y) << "\" width=\""
      << num(std::max(0.5, x1 - x0 - 1)) << "\" height=\"" << num(base - y)
      << "\" fill=\"#4c78a8\" fill-opacity=\"0.75\"><title>confidence " << num(b.confidence) << ", accuracy "
      << num(b.accuracy) << ", n=" << b.count << "</title></rect>";
    // Mean confidence of the bin as a small red tick: the gap to the bar top is the miscalibration.
    double cy = f.py(std::clamp(b.confidence, 0.0, 1.0));
    s << "<line x1=\"" << num(x0 + 1) << "\" y1=\"" << num(cy) << "\" x2=\"" << num(x1 - 1) << "\" y2=\""
      << num(cy) << "\" stroke=\"#d62728\" stroke-width=\"2\"/>";
    // Share of cases in the bin along the bottom.
    double share = total > 0 ? static_cast<double>(b.count) / static_cast<double>(total) : 0;
    double hh = share * 20;
    s << "<rect x=\"" << num(x0 + 0.5) << "\" y=\"" << num(base - hh) << "\" width=\""
      << num(std::max(0.5, x1 - x0 - 1)) << "\" height=\"" << num(hh) << "\" fill=\"#333\" fill-opacity=\"0.35\"/>";
  }
  double lx = f.px(0) + 6, ly = f.py(1) + 12;
  s << "<rect x=\"" << num(lx) << "\" y=\"" << num(ly - 8) << "\" width=\"10\" height=\"8\" fill=\"#4c78a8\"/>"
    << "<text x=\"" << num(lx + 14) << "\" y=\"" << num(ly) << "\" font-size=\"10\">accuracy in bin</text>"
    << "<line x1=\"" << num(lx) << "\" y1=\"" << num(ly + 9) << "\" x2=\"" << num(lx + 10) << "\" y2=\""
    << num(ly + 9) << "\" stroke=\"#d62728\" stroke-width=\"2\"/>"
    << "<text x=\"" << num(lx + 14) << "\" y=\"" << num(ly + 12) << "\" font-size=\"10\">mean confidence</text>";
  s << "</svg>";
  return s.str();
}

std::string heat_color(double v) {
  if (!std::isfinite(v)) return "#ffffff";
  v = std::clamp(v, 0.0, 1.0);
  // White (255,255,255) to a deep blue (8,69,148).
  int r = static_cast<int>(std::lround(255 + (8 - 255) * v));
  int g = static_cast<int>(std::lround(255 + (69 - 255) * v));
  int b = static_cast<int>(std::lround(255 + (148 - 255) * v));
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
  return buf;
}

std::string heat_text_color(double v) { return std::isfinite(v) && v > 0.55 ? "#fff" : "#000"; }

}  // namespace skintriage::report
