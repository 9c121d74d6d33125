#include "eval/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace skintriage {

namespace {

void validate_logits(const std::vector<std::vector<double>>& logits, const std::vector<int>& labels) {
  if (logits.empty()) throw InputError("temperature scaling: no cases (empty input)");
  if (logits.size() != labels.size())
    throw InputError("temperature scaling: " + std::to_string(labels.size()) + " labels but " +
                     std::to_string(logits.size()) + " logit rows");
  const size_t k = logits[0].size();
  if (k < 2) throw InputError("temperature scaling: need at least 2 classes");
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i].size() != k)
      throw InputError("temperature scaling: row " + std::to_string(i) + ": expected " + std::to_string(k) +
                       " logits, found " + std::to_string(logits[i].size()));
    for (double v : logits[i])
      if (!std::isfinite(v)) throw InputError("temperature scaling: row " + std::to_string(i) + ": logit not finite");
    if (labels[i] < 0 || static_cast<size_t>(labels[i]) >= k)
      throw InputError("temperature scaling: row " + std::to_string(i) + ": label " + std::to_string(labels[i]) +
                       " out of range");
  }
}

}  // namespace

std::vector<double> softmax(const std::vector<double>& logits, double t) {
  std::vector<double> out(logits.size());
  if (logits.empty()) return out;
  double mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t c = 0; c < logits.size(); ++c) {
    out[c] = std::exp((logits[c] - mx) / t);
    sum += out[c];
  }
  for (double& v : out) v /= sum;
  return out;
}

double temperature_nll(const std::vector<std::vector<double>>& logits, const std::vector<int>& labels, double t) {
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const auto& row = logits[i];
    size_t top = static_cast<size_t>(std::max_element(row.begin(), row.end()) - row.begin());
    const double mx = row[top];
    // -log softmax_y = log(1 + rest) - (z_y - max)/T with rest = sum over c != top of exp((z_c - max)/T);
    // log1p keeps the tiny losses of confidently right cases (so the NLL never goes flat near T -> 0).
    double rest = 0;
    for (size_t c = 0; c < row.size(); ++c)
      if (c != top) rest += std::exp((row[c] - mx) / t);
    total += std::log1p(rest) - (row[static_cast<size_t>(labels[i])] - mx) / t;
  }
  return total / static_cast<double>(logits.size());
}

TemperatureFit fit_temperature(const std::vector<std::vector<double>>& logits, const std::vector<int>& labels,
                               const TemperatureOptions& options) {
  validate_logits(logits, labels);
  if (!(options.t_min > 0) || !(options.t_max > options.t_min))
    throw InputError("temperature scaling: need 0 < t_min < t_max");
  auto f = [&](double log_t) { return temperature_nll(logits, labels, std::exp(log_t)); };
  // Golden-section search on log T: the NLL is convex in 1/T, so it is unimodal in log T.
  const double invphi = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(options.t_min), b = std::log(options.t_max);
  double c = b - invphi * (b - a), d = a + invphi * (b - a);
  double fc = f(c), fd = f(d);
  while (b - a > options.tolerance) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - invphi * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + invphi * (b - a);
      fd = f(d);
    }
  }
  double best = 0.5 * (a + b);
  // The ends are not evaluated by the interior search; compare them explicitly.
  double fbest = f(best);
  const double lo = std::log(options.t_min), hi = std::log(options.t_max);
  TemperatureFit fit;
  for (double edge : {lo, hi}) {
    double fe = f(edge);
    if (fe < fbest) {
      fbest = fe;
      best = edge;
    }
  }
  fit.temperature = std::exp(best);
  fit.nll_before = temperature_nll(logits, labels, 1.0);
  fit.nll_after = fbest;
  fit.at_bound = std::abs(best - lo) < 1e-4 || std::abs(best - hi) < 1e-4;
  return fit;
}

std::vector<std::vector<double>> apply_temperature(const std::vector<std::vector<double>>& logits, double t) {
  if (!(t > 0) || !std::isfinite(t)) throw InputError("temperature must be a positive finite number");
  std::vector<std::vector<double>> out;
  out.reserve(logits.size());
  for (const auto& row : logits) out.push_back(softmax(row, t));
  return out;
}

std::vector<std::vector<double>> logits_from_probs(const std::vector<std::vector<double>>& probs) {
  std::vector<std::vector<double>> out = probs;
  for (auto& row : out)
    for (double& v : row) v = std::log(std::max(v, 1e-12));
  return out;
}

nlohmann::json to_json(const TemperatureFit& fit) {
  return {{"temperature", fit.temperature},
          {"nll_before", fit.nll_before},
          {"nll_after", fit.nll_after},
          {"at_bound", fit.at_bound}};
}

ReliabilityDiagram reliability_diagram(const std::vector<int>& labels, const std::vector<std::vector<double>>& probs,
                                       int n_bins) {
  if (n_bins < 1) throw InputError("reliability diagram: need at least one bin");
  if (labels.size() != probs.size()) throw InputError("reliability diagram: labels and probabilities differ in size");
  ReliabilityDiagram d;
  d.bins.resize(static_cast<size_t>(n_bins));
  std::vector<double> conf_sum(static_cast<size_t>(n_bins), 0), correct(static_cast<size_t>(n_bins), 0);
  for (int b = 0; b < n_bins; ++b) {
    d.bins[static_cast<size_t>(b)].lower = static_cast<double>(b) / n_bins;
    d.bins[static_cast<size_t>(b)].upper = static_cast<double>(b + 1) / n_bins;
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& row = probs[i];
    if (row.empty()) throw InputError("reliability diagram: row " + std::to_string(i) + " is empty");
    size_t best = 0;
    for (size_t c = 1; c < row.size(); ++c)
      if (row[c] > row[best]) best = c;
    double conf = row[best];
    // bin b holds (b/B, (b+1)/B]: ceil(conf * B) - 1, clamped.
    int b = std::clamp(static_cast<int>(std::ceil(conf * n_bins)) - 1, 0, n_bins - 1);
    // Settle rounding at the edges against the edges themselves (b / B), so a confidence of exactly b/B
    // always lands in bin b - 1.
    while (b > 0 && conf <= static_cast<double>(b) / n_bins) --b;
    while (b < n_bins - 1 && conf > static_cast<double>(b + 1) / n_bins) ++b;
    auto& bin = d.bins[static_cast<size_t>(b)];
    ++bin.count;
    conf_sum[static_cast<size_t>(b)] += conf;
    if (labels[i] == static_cast<int>(best)) correct[static_cast<size_t>(b)] += 1;
  }
  const double n = static_cast<double>(labels.size());
  for (size_t b = 0; b < d.bins.size(); ++b) {
    auto& bin = d.bins[b];
    if (bin.count == 0) continue;
    bin.mean_confidence = conf_sum[b] / static_cast<double>(bin.count);
    bin.accuracy = correct[b] / static_cast<double>(bin.count);
    d.ece += static_cast<double>(bin.count) / n * std::abs(bin.accuracy - bin.mean_confidence);
  }
  if (labels.empty()) d.ece = std::numeric_limits<double>::quiet_NaN();
  return d;
}

nlohmann::json to_json(const ReliabilityDiagram& d) {
  nlohmann::json bins = nlohmann::json::array();
  for (const auto& b : d.bins)
    bins.push_back({{"lower", b.lower},
                    {"upper", b.upper},
                    {"count", b.count},
                    {"mean_confidence", b.mean_confidence},
                    {"accuracy", b.accuracy}});
  nlohmann::json j;
  j["bins"] = bins;
  j["ece"] = std::isfinite(d.ece) ? nlohmann::json(d.ece) : nlohmann::json(nullptr);
  return j;
}

}  // namespace skintriage
