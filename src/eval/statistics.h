// Statistics for comparing models honestly: bootstrap confidence intervals, paired tests
// (McNemar exact and mid-p on correctness, DeLong for correlated AUROCs), mean +- sample std over
// folds or seeds, and the paper's relative improvement.
//
// The bootstrap is stratified by class (each resample keeps the class counts of the sample, so a
// rare class never vanishes from a resample) and uses the percentile method. It is deterministic
// across platforms: std::mt19937_64 (fully specified by the standard) with our own unbiased bounded
// integer draw, never std::uniform_int_distribution (whose algorithm is implementation-defined).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace skintriage {

/// Unbiased integer in [0, bound) from a 64-bit Mersenne twister (rejection sampling); bound > 0.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound);

struct BootstrapOptions {
  int resamples = 2000;
  uint64_t seed = 20210923;
  double level = 0.95;     ///< two-sided coverage of the interval
  bool stratified = true;  ///< resample within each label class
};

struct ConfidenceInterval {
  double estimate = 0;  ///< the metric on the full sample
  double lower = 0, upper = 0;
  double std_error = 0;  ///< sample std of the bootstrap replicates
  int valid = 0;         ///< replicates where the metric was finite (NaN ones are left out)
};

/// Percentile bootstrap of several metrics at once. `metric(idx)` computes the metrics on the cases at positions
/// `idx` (with repeats) and returns one value per name; `labels` drives the stratification. Deterministic for a
/// given seed. Interval bounds use linear interpolation between order statistics (numpy's default percentile).
std::map<std::string, ConfidenceInterval> bootstrap_many(
    const std::vector<int>& labels, const std::vector<std::string>& names,
    const std::function<std::vector<double>(const std::vector<size_t>& idx)>& metric,
    const BootstrapOptions& options = {});

/// Single-metric convenience.
ConfidenceInterval bootstrap_ci(const std::vector<int>& labels,
                                const std::function<double(const std::vector<size_t>& idx)>& metric,
                                const BootstrapOptions& options = {});

/// Bootstrap CIs of the headline metrics of compute_metrics(): accuracy, balanced_accuracy, auroc_macro,
/// sensitivity_macro, specificity_macro, precision_macro, f1_macro, kappa, kappa_quadratic, ece, brier,
/// over_excision_rate (when excision_class >= 0), and "<metric>:<CLASS>" for sensitivity, specificity,
/// precision, auroc of each class. `predictions` (optional) are explicit decisions as in MetricsOptions.
std::map<std::string, ConfidenceInterval> bootstrap_metrics(const std::vector<int>& labels,
                                                            const std::vector<std::vector<double>>& probs,
                                                            const std::vector<std::string>& classes,
                                                            int excision_class = -1,
                                                            const std::vector<int>& predictions = {},
                                                            const BootstrapOptions& options = {});

nlohmann::json to_json(const ConfidenceInterval& ci);

/// Percentile of sorted values with linear interpolation (numpy default); q in [0, 1].
double percentile_sorted(const std::vector<double>& sorted, double q);

struct McNemarResult {
  long n = 0;           ///< paired cases
  long both_correct = 0, both_wrong = 0;
  long only_a = 0;      ///< a correct, b wrong
  long only_b = 0;      ///< b correct, a wrong
  double p_exact = 1;   ///< two-sided exact binomial p (= scipy binomtest(only_a, only_a+only_b, 0.5))
  double p_midp = 1;    ///< mid-p: 2 [P(X <= m) - P(X = m) / 2], m = min(only_a, only_b) (Fagerland et al. 2013)
};

/// McNemar on paired correctness (1 = correct). InputError when sizes differ or are empty.
McNemarResult mcnemar(const std::vector<bool>& correct_a, const std::vector<bool>& correct_b);
nlohmann::json to_json(const McNemarResult& r);

/// Two-sided exact binomial test p-value for k successes in n trials with p = 0.5.
double binomial_two_sided_half(long k, long n);

struct DeLongResult {
  double auc_a = 0, auc_b = 0;
  double diff = 0;            ///< auc_a - auc_b
  double var_a = 0, var_b = 0, covariance = 0;
  double variance = 0;        ///< variance of diff
  double z = 0;               ///< diff / sqrt(variance); 0 when diff = variance = 0
  double p = 1;               ///< two-sided normal p-value
  long positives = 0, negatives = 0;
};

/// DeLong, DeLong & Clarke-Pearson (1988) test of two correlated AUROCs on the same cases (binary truth),
/// computed with midranks in O(n log n) (Sun & Xu 2014). InputError when sizes differ or a score is not finite.
/// Undefined parts are NaN, never an exception: the AUCs when either class is empty, and variances, z and p when
/// there are fewer than 2 positives or 2 negatives (the structural-component variances need two of each).
DeLongResult delong_test(const std::vector<bool>& positive, const std::vector<double>& scores_a,
                         const std::vector<double>& scores_b);
nlohmann::json to_json(const DeLongResult& r);

struct MeanStd {
  double mean = 0;
  double std = 0;  ///< sample standard deviation (n - 1); NaN when n < 2
  long n = 0;
};
/// NaN values are an InputError (a fold that failed must be reported, not averaged away). Empty -> error.
MeanStd mean_std(const std::vector<double>& values);
nlohmann::json to_json(const MeanStd& m);

/// The paper's relative improvement: mean over folds of (improved_i / base_i) - 1.
/// InputError when sizes differ, are empty, or a base value is 0.
double relative_improvement(const std::vector<double>& base, const std::vector<double>& improved);

}  // namespace skintriage
