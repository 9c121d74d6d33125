#include "eval/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "eval/metrics.h"

namespace skintriage {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// Midranks (1-based, ties averaged) of `v`.
std::vector<double> midranks(const std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
    double mid = 0.5 * (static_cast<double>(i + 1) + static_cast<double>(j + 1));
    for (size_t t = i; t <= j; ++t) r[order[t]] = mid;
    i = j + 1;
  }
  return r;
}

double log_binom_pmf_half(long k, long n) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1) - static_cast<double>(n) * std::log(2.0);
}

// P(X <= k) for X ~ Bin(n, 1/2).
double binom_cdf_half(long k, long n) {
  double s = 0;
  for (long i = 0; i <= k; ++i) s += std::exp(log_binom_pmf_half(i, n));
  return s;
}

double sample_cov(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += (a[i] - ma) * (b[i] - mb);
  return s / static_cast<double>(n - 1);
}

}  // namespace

uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  // Rejection sampling: accept draws at or above 2^64 mod bound so every residue is equally likely.
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

std::map<std::string, ConfidenceInterval> bootstrap_many(
    const std::vector<int>& labels, const std::vector<std::string>& names,
    const std::function<std::vector<double>(const std::vector<size_t>& idx)>& metric,
    const BootstrapOptions& options) {
  if (labels.empty()) throw InputError("bootstrap: no cases (empty input)");
  if (options.resamples < 1) throw InputError("bootstrap: need at least one resample");
  if (!(options.level > 0 && options.level < 1)) throw InputError("bootstrap: level must be in (0, 1)");
  const size_t n = labels.size();
  // Strata: positions of each label value, in ascending label order (std::map) for determinism.
  std::map<int, std::vector<size_t>> strata;
  for (size_t i = 0; i < n; ++i) strata[options.stratified ? labels[i] : 0].push_back(i);

  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  std::vector<double> full = metric(all);
  if (full.size() != names.size()) throw InputError("bootstrap: metric returned the wrong number of values");

  std::vector<std::vector<double>> reps(names.size());
  std::mt19937_64 rng(options.seed);
  std::vector<size_t> idx;
  idx.reserve(n);
  for (int r = 0; r < options.resamples; ++r) {
    idx.clear();
    for (const auto& kv : strata) {
      const auto& members = kv.second;
      for (size_t t = 0; t < members.size(); ++t) idx.push_back(members[uniform_below(rng, members.size())]);
    }
    std::vector<double> vals = metric(idx);
    for (size_t m = 0; m < names.size(); ++m)
      if (std::isfinite(vals[m])) reps[m].push_back(vals[m]);
  }
  const double alpha = 1 - options.level;
  std::map<std::string, ConfidenceInterval> out;
  for (size_t m = 0; m < names.size(); ++m) {
    auto& v = reps[m];
    std::sort(v.begin(), v.end());
    ConfidenceInterval ci;
    ci.estimate = full[m];
    ci.valid = static_cast<int>(v.size());
    ci.lower = percentile_sorted(v, alpha / 2);
    ci.upper = percentile_sorted(v, 1 - alpha / 2);
    if (v.size() >= 2) {
      double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
      double ss = 0;
      for (double x : v) ss += (x - mean) * (x - mean);
      ci.std_error = std::sqrt(ss / static_cast<double>(v.size() - 1));
    } else {
      ci.std_error = kNaN;
    }
    out[names[m]] = ci;
  }
  return out;
}

ConfidenceInterval bootstrap_ci(const std::vector<int>& labels,
                                const std::function<double(const std::vector<size_t>& idx)>& metric,
                                const BootstrapOptions& options) {
  auto res = bootstrap_many(
      labels, {"metric"}, [&](const std::vector<size_t>& idx) { return std::vector<double>{metric(idx)}; }, options);
  return res.at("metric");
}

std::map<std::string, ConfidenceInterval> bootstrap_metrics(const std::vector<int>& labels,
                                                            const std::vector<std::vector<double>>& probs,
                                                            const std::vector<std::string>& classes,
                                                            int excision_class, const std::vector<int>& predictions,
                                                            const BootstrapOptions& options) {
  MetricsOptions mo;
  mo.excision_class = excision_class;
  mo.predictions = predictions;
  compute_metrics(labels, probs, classes, mo);  // validates once, with clear messages

  std::vector<std::string> names = {"accuracy",          "balanced_accuracy", "auroc_macro", "sensitivity_macro",
                                    "specificity_macro", "precision_macro",   "f1_macro",    "kappa",
                                    "kappa_quadratic",   "ece",               "brier"};
  if (excision_class >= 0) names.push_back("over_excision_rate");
  for (const auto& c : classes)
    for (const char* m : {"sensitivity", "specificity", "precision", "auroc"}) names.push_back(std::string(m) + ":" + c);

  std::vector<int> sub_labels, sub_pred;
  std::vector<std::vector<double>> sub_probs;
  auto fn = [&](const std::vector<size_t>& idx) {
    sub_labels.resize(idx.size());
    sub_probs.resize(idx.size());
    sub_pred.resize(predictions.empty() ? 0 : idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
      sub_labels[i] = labels[idx[i]];
      sub_probs[i] = probs[idx[i]];
      if (!predictions.empty()) sub_pred[i] = predictions[idx[i]];
    }
    MetricsOptions o;
    o.excision_class = excision_class;
    o.predictions = sub_pred;
    ClassificationMetrics m = compute_metrics(sub_labels, sub_probs, classes, o);
    std::vector<double> vals;
    vals.reserve(names.size());
    for (const auto& name : names) vals.push_back(metric_by_name(m, name));
    return vals;
  };
  return bootstrap_many(labels, names, fn, options);
}

nlohmann::json to_json(const ConfidenceInterval& ci) {
  return {{"estimate", num(ci.estimate)},
          {"lower", num(ci.lower)},
          {"upper", num(ci.upper)},
          {"std_error", num(ci.std_error)},
          {"valid_resamples", ci.valid}};
}

double binomial_two_sided_half(long k, long n) {
  if (n < 0 || k < 0 || k > n) throw InputError("binomial test: need 0 <= k <= n");
  if (n == 0) return 1.0;
  long m = std::min(k, n - k);
  if (2 * m == n) return 1.0;
  return std::min(1.0, 2.0 * binom_cdf_half(m, n));
}

McNemarResult mcnemar(const std::vector<bool>& correct_a, const std::vector<bool>& correct_b) {
  if (correct_a.empty()) throw InputError("McNemar: no paired cases (empty input)");
  if (correct_a.size() != correct_b.size())
    throw InputError("McNemar: " + std::to_string(correct_a.size()) + " vs " + std::to_string(correct_b.size()) +
                     " cases; the test needs the same cases for both models");
  McNemarResult r;
  r.n = static_cast<long>(correct_a.size());
  for (size_t i = 0; i < correct_a.size(); ++i) {
    if (correct_a[i] && correct_b[i]) ++r.both_correct;
    else if (!correct_a[i] && !correct_b[i]) ++r.both_wrong;
    else if (correct_a[i]) ++r.only_a;
    else ++r.only_b;
  }
  const long d = r.only_a + r.only_b;
  r.p_exact = binomial_two_sided_half(r.only_a, d);
  if (d == 0) {
    r.p_midp = 1.0;
  } else {
    long m = std::min(r.only_a, r.only_b);
    r.p_midp = std::min(1.0, 2.0 * (binom_cdf_half(m, d) - 0.5 * std::exp(log_binom_pmf_half(m, d))));
  }
  return r;
}

nlohmann::json to_json(const McNemarResult& r) {
  return {{"n", r.n},           {"both_correct", r.both_correct}, {"both_wrong", r.both_wrong},
          {"only_a", r.only_a}, {"only_b", r.only_b},             {"p_exact", num(r.p_exact)},
          {"p_midp", num(r.p_midp)}};
}

DeLongResult delong_test(const std::vector<bool>& positive, const std::vector<double>& scores_a,
                         const std::vector<double>& scores_b) {
  const size_t n = positive.size();
  if (scores_a.size() != n || scores_b.size() != n)
    throw InputError("DeLong: truth and scores differ in size; the test needs the same cases for both models");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(scores_a[i]) || !std::isfinite(scores_b[i]))
      throw InputError("DeLong: row " + std::to_string(i) + ": score is not finite");
  std::vector<size_t> pos, neg;
  for (size_t i = 0; i < n; ++i) (positive[i] ? pos : neg).push_back(i);
  DeLongResult res;
  res.positives = static_cast<long>(pos.size());
  res.negatives = static_cast<long>(neg.size());
  if (pos.size() < 2 || neg.size() < 2) {
    res.auc_a = auroc_binary(positive, scores_a);
    res.auc_b = auroc_binary(positive, scores_b);
    res.diff = res.auc_a - res.auc_b;
    res.var_a = res.var_b = res.covariance = res.variance = res.z = res.p = kNaN;
    return res;
  }
  const double m = static_cast<double>(pos.size()), nn = static_cast<double>(neg.size());

  std::vector<double> v10[2], v01[2];
  double auc[2];
  const std::vector<double>* scores[2] = {&scores_a, &scores_b};
  for (int r = 0; r < 2; ++r) {
    const auto& s = *scores[r];
    std::vector<double> x, y;
    for (size_t i : pos) x.push_back(s[i]);
    for (size_t i : neg) y.push_back(s[i]);
    std::vector<double> z = x;
    z.insert(z.end(), y.begin(), y.end());
    auto tx = midranks(x), ty = midranks(y), tz = midranks(z);
    double sum_pos = 0;
    for (size_t i = 0; i < x.size(); ++i) sum_pos += tz[i];
    auc[r] = (sum_pos - m * (m + 1) / 2) / (m * nn);
    // Structural components: V10_i = fraction of negatives below positive i (ties half), V01_j likewise.
    v10[r].resize(x.size());
    v01[r].resize(y.size());
    for (size_t i = 0; i < x.size(); ++i) v10[r][i] = (tz[i] - tx[i]) / nn;
    for (size_t j = 0; j < y.size(); ++j) v01[r][j] = 1.0 - (tz[x.size() + j] - ty[j]) / m;
  }
  res.auc_a = auc[0];
  res.auc_b = auc[1];
  res.diff = auc[0] - auc[1];
  res.var_a = sample_cov(v10[0], v10[0]) / m + sample_cov(v01[0], v01[0]) / nn;
  res.var_b = sample_cov(v10[1], v10[1]) / m + sample_cov(v01[1], v01[1]) / nn;
  res.covariance = sample_cov(v10[0], v10[1]) / m + sample_cov(v01[0], v01[1]) / nn;
  res.variance = std::max(0.0, res.var_a + res.var_b - 2 * res.covariance);
  if (res.variance > 0) {
    res.z = res.diff / std::sqrt(res.variance);
    res.p = std::erfc(std::abs(res.z) / std::sqrt(2.0));
  } else if (res.diff == 0) {
    res.z = 0;
    res.p = 1;
  } else {
    res.z = res.diff > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
    res.p = 0;
  }
  return res;
}

nlohmann::json to_json(const DeLongResult& r) {
  return {{"auc_a", num(r.auc_a)},       {"auc_b", num(r.auc_b)},       {"diff", num(r.diff)},
          {"var_a", num(r.var_a)},       {"var_b", num(r.var_b)},       {"covariance", num(r.covariance)},
          {"variance", num(r.variance)}, {"z", num(r.z)},               {"p", num(r.p)},
          {"positives", r.positives},    {"negatives", r.negatives}};
}

MeanStd mean_std(const std::vector<double>& values) {
  if (values.empty()) throw InputError("mean/std: no values");
  MeanStd r;
  r.n = static_cast<long>(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) throw InputError("mean/std: value " + std::to_string(i) + " is not finite");
    r.mean += values[i];
  }
  r.mean /= static_cast<double>(r.n);
  if (r.n < 2) {
    r.std = kNaN;
  } else {
    double ss = 0;
    for (double v : values) ss += (v - r.mean) * (v - r.mean);
    r.std = std::sqrt(ss / static_cast<double>(r.n - 1));
  }
  return r;
}

nlohmann::json to_json(const MeanStd& m) { return {{"mean", num(m.mean)}, {"std", num(m.std)}, {"n", m.n}}; }

double relative_improvement(const std::vector<double>& base, const std::vector<double>& improved) {
  if (base.empty()) throw InputError("relative improvement: no folds");
  if (base.size() != improved.size())
    throw InputError("relative improvement: " + std::to_string(base.size()) + " base values but " +
                     std::to_string(improved.size()) + " improved values");
  double s = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    if (!std::isfinite(base[i]) || !std::isfinite(improved[i]) || base[i] == 0)
      throw InputError("relative improvement: fold " + std::to_string(i) + ": base must be finite and non-zero");
    s += improved[i] / base[i];
  }
  return s / static_cast<double>(base.size()) - 1.0;
}

}  // namespace skintriage
