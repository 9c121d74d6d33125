// Temperature scaling and reliability bins.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "eval/calibration.h"
#include "eval/metrics.h"
#include "eval/statistics.h"

using namespace skintriage;

namespace {

// Logits z ~ N(0, 3^2) per class; labels drawn from softmax(z / t_true).
void draw(double t_true, size_t n, uint64_t seed, std::vector<std::vector<double>>& z, std::vector<int>& y) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 3.0);  // only the test's data; not part of determinism claims
  z.assign(n, std::vector<double>(3));
  y.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (double& v : z[i]) v = normal(rng);
    auto p = softmax(z[i], t_true);
    double u = static_cast<double>(uniform_below(rng, 1u << 30)) / static_cast<double>(1u << 30);
    y[i] = u < p[0] ? 0 : (u < p[0] + p[1] ? 1 : 2);
  }
}

}  // namespace

TEST(Temperature, RecoversKnownTemperatures) {
  for (double t_true : {0.5, 1.0, 3.0}) {
    std::vector<std::vector<double>> z;
    std::vector<int> y;
    draw(t_true, 8000, 11, z, y);
    auto fit = fit_temperature(z, y);
    EXPECT_NEAR(fit.temperature, t_true, 0.08 * t_true) << "true T " << t_true;
    EXPECT_LE(fit.nll_after, fit.nll_before + 1e-12);
    EXPECT_FALSE(fit.at_bound);
    // Scaled probabilities are better calibrated than raw ones when the model is over/under-confident.
    if (t_true != 1.0) {
      double ece_raw = reliability_diagram(y, apply_temperature(z, 1.0)).ece;
      double ece_fit = reliability_diagram(y, apply_temperature(z, fit.temperature)).ece;
      EXPECT_LT(ece_fit, ece_raw);
    }
  }
}

TEST(Temperature, SeparableDataRunsToTheBoundWithoutDiverging) {
  std::vector<std::vector<double>> z = {{5, 0}, {0, 5}, {4, -1}};
  std::vector<int> y = {0, 1, 0};
  auto fit = fit_temperature(z, y);
  EXPECT_TRUE(fit.at_bound);
  EXPECT_NEAR(fit.temperature, 0.05, 1e-6);
  EXPECT_TRUE(std::isfinite(fit.nll_after));
}

TEST(Temperature, ErrorsAndSoftmax) {
  EXPECT_THROW(fit_temperature({}, {}), InputError);
  EXPECT_THROW(fit_temperature({{1, 2}, {1}}, {0, 1}), InputError);
  EXPECT_THROW(fit_temperature({{1, NAN}}, {0}), InputError);
  EXPECT_THROW(fit_temperature({{1, 2}}, {2}), InputError);
  EXPECT_THROW(apply_temperature({{1, 2}}, 0.0), InputError);
  auto p = softmax({1000, 0}, 1.0);  // stable for huge logits
  EXPECT_NEAR(p[0], 1.0, 1e-12);
  auto q = softmax({std::log(1.0), std::log(3.0)}, 1.0);
  EXPECT_NEAR(q[1], 0.75, 1e-12);
  auto lp = logits_from_probs({{0.25, 0.75}});
  EXPECT_NEAR(softmax(lp[0])[1], 0.75, 1e-12);
}

TEST(Reliability, BinsCountsConfidenceAndAccuracy) {
  // Confidences 0.95 (right), 0.95 (wrong), 0.55 (right) in 15 bins: bins 14 and 8.
  std::vector<int> y = {0, 1, 1};
  std::vector<std::vector<double>> p = {{0.95, 0.05}, {0.95, 0.05}, {0.45, 0.55}};
  auto d = reliability_diagram(y, p);
  ASSERT_EQ(d.bins.size(), 15u);
  EXPECT_EQ(d.bins[14].count, 2);
  EXPECT_DOUBLE_EQ(d.bins[14].accuracy, 0.5);
  EXPECT_DOUBLE_EQ(d.bins[14].mean_confidence, 0.95);
  EXPECT_EQ(d.bins[8].count, 1);
  EXPECT_DOUBLE_EQ(d.ece, 2.0 / 3 * 0.45 + 1.0 / 3 * 0.45);
  EXPECT_DOUBLE_EQ(compute_metrics(y, p, {"A", "B"}).ece, d.ece);  // one ECE for the project
  auto j = to_json(d);
  EXPECT_EQ(j["bins"].size(), 15u);
  EXPECT_EQ(j["bins"][14]["count"], 2);
}
