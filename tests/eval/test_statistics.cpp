// Bootstrap determinism and coverage, McNemar and DeLong hand-worked cases and errors, fold summaries.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "eval/metrics.h"
#include "eval/statistics.h"

using namespace skintriage;

namespace {

// Synthetic 3-class predictions with some signal, deterministic.
void synthetic(size_t n, uint64_t seed, std::vector<int>& y, std::vector<std::vector<double>>& p) {
  std::mt19937_64 rng(seed);
  y.clear();
  p.clear();
  for (size_t i = 0; i < n; ++i) {
    int label = static_cast<int>(uniform_below(rng, 10) < 2 ? 0 : uniform_below(rng, 2) + 1);
    std::vector<double> row(3);
    double sum = 0;
    for (int c = 0; c < 3; ++c) {
      row[static_cast<size_t>(c)] = static_cast<double>(uniform_below(rng, 1000) + 1) + (c == label ? 700.0 : 0.0);
      sum += row[static_cast<size_t>(c)];
    }
    for (double& v : row) v /= sum;
    y.push_back(label);
    p.push_back(row);
  }
}

}  // namespace

TEST(Random, MersenneTwisterIsTheStandardOneAndDrawsAreUnbiased) {
  std::mt19937_64 rng;  // default seed 5489: the standard fixes the 10000th output
  rng.discard(9999);
  EXPECT_EQ(rng(), 9981545732273789042ULL);
  std::mt19937_64 r2(7);
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i) ++counts[uniform_below(r2, 6)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
  std::mt19937_64 a(42), b(42);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(uniform_below(a, 397), uniform_below(b, 397));
}

TEST(Bootstrap, DeterministicForASeedAndStratified) {
  std::vector<int> y;
  std::vector<std::vector<double>> p;
  synthetic(200, 1, y, p);
  BootstrapOptions o;
  o.resamples = 300;
  auto acc = [&](const std::vector<size_t>& idx) {
    double ok = 0;
    for (size_t i : idx) ok += argmax_decisions({p[i]})[0] == y[i];
    return ok / static_cast<double>(idx.size());
  };
  auto a = bootstrap_ci(y, acc, o), b = bootstrap_ci(y, acc, o);
  EXPECT_EQ(a.lower, b.lower);
  EXPECT_EQ(a.upper, b.upper);
  o.seed = 99;
  auto c = bootstrap_ci(y, acc, o);
  EXPECT_TRUE(c.lower != a.lower || c.upper != a.upper);
  EXPECT_LE(a.lower, a.estimate);
  EXPECT_GE(a.upper, a.estimate);
  EXPECT_EQ(a.valid, 300);

  // Every stratified resample keeps the class counts of the sample.
  std::vector<long> counts(3, 0);
  for (int l : y) ++counts[static_cast<size_t>(l)];
  BootstrapOptions s;
  s.resamples = 50;
  bootstrap_ci(
      y,
      [&](const std::vector<size_t>& idx) {
        std::vector<long> c(3, 0);
        for (size_t i : idx) ++c[static_cast<size_t>(y[i])];
        EXPECT_EQ(c, counts);
        return 0.0;
      },
      s);
}

TEST(Bootstrap, PercentileIntervalCoversTheTruthAboutNinetyFivePercent) {
  // Bernoulli(0.7) "correctness" data, n = 120: the 95% percentile interval of the mean should cover 0.7
  // in roughly 95% of 300 independent data sets.
  std::mt19937_64 rng(2021);
  int covered = 0;
  const int datasets = 300;
  BootstrapOptions o;
  o.resamples = 400;
  o.stratified = false;
  for (int d = 0; d < datasets; ++d) {
    std::vector<double> x(120);
    for (double& v : x) v = uniform_below(rng, 10) < 7 ? 1.0 : 0.0;
    std::vector<int> labels(x.size(), 0);
    o.seed = static_cast<uint64_t>(d);
    auto ci = bootstrap_ci(
        labels,
        [&](const std::vector<size_t>& idx) {
          double s = 0;
          for (size_t i : idx) s += x[i];
          return s / static_cast<double>(idx.size());
        },
        o);
    if (ci.lower <= 0.7 && 0.7 <= ci.upper) ++covered;
  }
  double coverage = static_cast<double>(covered) / datasets;
  EXPECT_GT(coverage, 0.89);
  EXPECT_LT(coverage, 0.99);
}

TEST(Bootstrap, HeadlineMetricsHaveIntervals) {
  std::vector<int> y;
  std::vector<std::vector<double>> p;
  synthetic(150, 3, y, p);
  std::vector<std::string> classes = {"NONE", "CLNC", "EXC"};
  BootstrapOptions o;
  o.resamples = 200;
  auto cis = bootstrap_metrics(y, p, classes, 2, {}, o);
  auto m = compute_metrics(y, p, classes, {2, {}});
  for (const char* k : {"accuracy", "auroc_macro", "sensitivity_macro", "specificity_macro", "precision_macro",
                        "kappa", "ece", "brier", "over_excision_rate", "auroc:EXC", "sensitivity:NONE"}) {
    ASSERT_TRUE(cis.count(k)) << k;
    EXPECT_DOUBLE_EQ(cis[k].estimate, metric_by_name(m, k)) << k;
    EXPECT_LT(cis[k].lower, cis[k].upper) << k;
    EXPECT_EQ(cis[k].valid, 200) << k;
  }
  EXPECT_GT(cis["auroc_macro"].lower, 0.5);  // the synthetic scores carry signal
}

TEST(Percentile, LinearInterpolationLikeNumpy) {
  std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(percentile_sorted({5}, 0.975), 5.0);
}

TEST(McNemar, HandWorked) {
  // 7 discordant pairs all in favour of b: p = 2 * 0.5^7.
  std::vector<bool> a = {false, false, false, false, false, false, false, true, true};
  std::vector<bool> b = {true, true, true, true, true, true, true, true, false};
  auto r = mcnemar(a, b);
  EXPECT_EQ(r.only_a, 1);
  EXPECT_EQ(r.only_b, 7);
  // Bin(8, 1/2): P(X <= 1) = 9/256 -> exact 18/256; mid-p = 2 (9/256 - 4/256) = 10/256.
  EXPECT_NEAR(r.p_exact, 18.0 / 256, 1e-12);
  EXPECT_NEAR(r.p_midp, 10.0 / 256, 1e-12);
  auto same = mcnemar({true, false}, {true, false});
  EXPECT_EQ(same.p_exact, 1.0);
  EXPECT_EQ(same.p_midp, 1.0);
  EXPECT_THROW(mcnemar({}, {}), InputError);
  EXPECT_THROW(mcnemar({true}, {true, false}), InputError);
  EXPECT_NEAR(binomial_two_sided_half(0, 10), 2.0 / 1024, 1e-15);
}

TEST(DeLong, IdenticalModelsAndErrors) {
  std::vector<bool> pos = {true, true, false, false, true};
  std::vector<double> s = {0.9, 0.4, 0.5, 0.1, 0.7};
  auto r = delong_test(pos, s, s);
  EXPECT_DOUBLE_EQ(r.diff, 0.0);
  EXPECT_DOUBLE_EQ(r.z, 0.0);
  EXPECT_DOUBLE_EQ(r.p, 1.0);
  EXPECT_NEAR(r.auc_a, 5.0 / 6, 1e-12);
  // One positive: the AUCs exist, the variance does not.
  auto one = delong_test({true, false, false}, {3, 2, 1}, {1, 2, 3});
  EXPECT_DOUBLE_EQ(one.auc_a, 1.0);
  EXPECT_DOUBLE_EQ(one.auc_b, 0.0);
  EXPECT_TRUE(std::isnan(one.variance));
  EXPECT_TRUE(std::isnan(one.p));
  EXPECT_TRUE(to_json(one)["p"].is_null());
  auto none = delong_test({false, false}, {1, 2}, {1, 2});
  EXPECT_TRUE(std::isnan(none.auc_a));
  EXPECT_THROW(delong_test(pos, s, {1, 2}), InputError);
  EXPECT_THROW(delong_test(pos, s, {0.1, 0.2, NAN, 0.3, 0.4}), InputError);
}

TEST(FoldSummary, MeanStdAndRelativeImprovement) {
  auto ms = mean_std({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(ms.mean, 2.5);
  EXPECT_NEAR(ms.std, std::sqrt(5.0 / 3), 1e-12);
  EXPECT_TRUE(std::isnan(mean_std({0.7}).std));
  EXPECT_THROW(mean_std({}), InputError);
  EXPECT_THROW(mean_std({0.5, NAN}), InputError);
  // Paper form: mean of ratios minus one, not ratio of means.
  EXPECT_NEAR(relative_improvement({0.5, 0.6}, {0.6, 0.6}), 0.1, 1e-12);
  EXPECT_THROW(relative_improvement({0.5}, {0.6, 0.7}), InputError);
  EXPECT_THROW(relative_improvement({0.0}, {0.6}), InputError);
}
