// Hand-worked examples, edge cases and errors of eval/metrics.h (the sklearn comparison is in test_oracle.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "eval/metrics.h"
#include "test_util.h"

using namespace skintriage;

namespace {
const std::vector<std::string> kMgmt = {"NONE", "CLNC", "EXC"};
}  // namespace

TEST(Metrics, HandWorkedThreeClassExample) {
  // labels:     NONE NONE CLNC CLNC CLNC EXC
  // decisions:  NONE CLNC CLNC CLNC EXC  EXC
  std::vector<int> y = {0, 0, 1, 1, 1, 2};
  std::vector<std::vector<double>> p = {{.7, .2, .1}, {.3, .6, .1}, {.1, .8, .1},
                                        {.2, .5, .3}, {.1, .3, .6}, {.1, .2, .7}};
  auto m = compute_metrics(y, p, kMgmt, {2, {}});
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<long>>{{1, 1, 0}, {0, 2, 1}, {0, 0, 1}}));
  EXPECT_DOUBLE_EQ(m.per_class[0].sensitivity, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[1].sensitivity, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.per_class[2].sensitivity, 1.0);
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, (0.5 + 2.0 / 3 + 1.0) / 3);
  EXPECT_DOUBLE_EQ(m.per_class[2].specificity, 4.0 / 5);
  EXPECT_DOUBLE_EQ(m.per_class[2].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 2.0 / 3);
  EXPECT_EQ(m.over_excision, 1);
  EXPECT_DOUBLE_EQ(m.over_excision_rate, 1.0 / 5);
  // EXC AUROC: the positive (0.7) beats every negative (max 0.6) -> 1.
  EXPECT_DOUBLE_EQ(m.per_class[2].auroc, 1.0);
  // NONE: positives 0.7, 0.3 vs negatives 0.1, 0.2, 0.1, 0.1 -> 8/8 = 1.
  EXPECT_DOUBLE_EQ(m.per_class[0].auroc, 1.0);
  EXPECT_TRUE(m.macro_excluded.empty());
}

TEST(Metrics, TiesCountHalf) {
  std::vector<bool> pos = {true, false, true, false};
  EXPECT_DOUBLE_EQ(auroc_binary(pos, {0.5, 0.5, 0.5, 0.5}), 0.5);
  EXPECT_DOUBLE_EQ(auroc_binary(pos, {0.9, 0.5, 0.5, 0.1}), 0.875);  // 3 wins, 1 tie out of 4 pairs
}

TEST(Metrics, AbsentClassIsUndefinedAndExcludedFromMacroMeans) {
  std::vector<int> y = {0, 0, 2, 2};  // CLNC absent
  std::vector<std::vector<double>> p = {{.6, .3, .1}, {.2, .5, .3}, {.1, .1, .8}, {.5, .1, .4}};
  auto m = compute_metrics(y, p, kMgmt);
  EXPECT_TRUE(std::isnan(m.per_class[1].auroc));
  EXPECT_TRUE(std::isnan(m.per_class[1].sensitivity));
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 0.0);  // predicted once, never right
  EXPECT_DOUBLE_EQ(m.per_class[1].f1, 0.0);
  ASSERT_TRUE(m.macro_excluded.count("auroc"));
  EXPECT_EQ(m.macro_excluded.at("auroc"), std::vector<std::string>{"CLNC"});
  EXPECT_DOUBLE_EQ(m.auroc_macro, (m.per_class[0].auroc + m.per_class[2].auroc) / 2);
  auto j = to_json(m);
  EXPECT_TRUE(j["per_class"]["CLNC"]["auroc"].is_null());
  EXPECT_EQ(j["macro_excluded"]["auroc"][0], "CLNC");
}

TEST(Metrics, SingleClassAndConstantScores) {
  std::vector<int> y = {1, 1, 1};
  std::vector<std::vector<double>> p(3, {1.0 / 3, 1.0 / 3, 1.0 / 3});
  auto m = compute_metrics(y, p, kMgmt, {2, {}});
  for (const auto& c : m.per_class) EXPECT_TRUE(std::isnan(c.auroc)) << c.name;
  EXPECT_TRUE(std::isnan(m.auroc_macro));
  EXPECT_TRUE(std::isnan(m.per_class[1].specificity));  // every case is CLNC
  EXPECT_EQ(m.predictions, (std::vector<int>{0, 0, 0}));  // argmax ties -> lowest index
  EXPECT_DOUBLE_EQ(m.accuracy, 0.0);
  EXPECT_EQ(m.over_excision, 0);

  std::vector<int> y2 = {0, 1, 2, 0, 1, 2};
  std::vector<std::vector<double>> p2(6, {0.2, 0.3, 0.5});
  auto m2 = compute_metrics(y2, p2, kMgmt);
  for (const auto& c : m2.per_class) EXPECT_DOUBLE_EQ(c.auroc, 0.5) << c.name;
  EXPECT_DOUBLE_EQ(m2.kappa, 0.0);
}

TEST(Metrics, ExplicitDecisionsOverrideArgmax) {
  std::vector<int> y = {0, 2};
  std::vector<std::vector<double>> p = {{.8, .1, .1}, {.5, .2, .3}};
  auto argmax = compute_metrics(y, p, kMgmt, {2, {}});
  EXPECT_DOUBLE_EQ(argmax.accuracy, 0.5);
  auto policy = compute_metrics(y, p, kMgmt, {2, {0, 2}});
  EXPECT_DOUBLE_EQ(policy.accuracy, 1.0);
  EXPECT_TRUE(policy.explicit_predictions);
  EXPECT_EQ(to_json(policy)["decisions"], "policy");
  // Calibration is a property of the probabilities: the policy does not change ECE or Brier.
  EXPECT_DOUBLE_EQ(policy.ece, argmax.ece);
  EXPECT_DOUBLE_EQ(policy.brier, argmax.brier);
}

TEST(Metrics, RejectsBadInputNamingTheRow) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> ok = {{.5, .3, .2}, {.1, .1, .8}};
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({}, {}, kMgmt); }).find("empty"), std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0, 1}, {{.5, .3, .2}, {.1, nan, .8}}, kMgmt); }).find("row 1"),
            std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0, 1}, {{inf, .3, .2}, {.1, .1, .8}}, kMgmt); }).find("not finite"),
            std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0, 3}, ok, kMgmt); }).find("out of range"), std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0, -1}, ok, kMgmt); }).find("row 1"), std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0, 1}, {{.5, .5}, {.1, .1, .8}}, kMgmt); }).find("expected 3"),
            std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0, 1}, {{1.5, .3, .2}, {.1, .1, .8}}, kMgmt); }).find("outside [0, 1]"),
            std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0, 1}, ok, kMgmt, {2, {0}}); }).find("decisions"), std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0, 1}, ok, kMgmt, {5, {}}); }).find("excision"), std::string::npos);
  EXPECT_NE(testutil::input_error_of([&] { compute_metrics({0}, {{1.0}}, {"ONLY"}); }).find("2 classes"), std::string::npos);
}

TEST(Metrics, JsonHasResultsKeysAndLookupByName) {
  std::vector<int> y = {0, 1, 2, 2};
  std::vector<std::vector<double>> p = {{.6, .3, .1}, {.2, .5, .3}, {.1, .1, .8}, {.5, .1, .4}};
  auto m = compute_metrics(y, p, kMgmt, {class_index(kMgmt, "EXC"), {}});
  auto j = to_json(m);
  for (const char* key : {"accuracy", "auroc_macro", "sensitivity_macro", "specificity_macro", "precision_macro",
                          "per_class", "confusion", "over_excision", "kappa", "kappa_quadratic", "ece", "brier",
                          "balanced_accuracy", "f1_macro"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"sensitivity", "specificity", "precision", "auroc", "f1"})
    EXPECT_TRUE(j["per_class"]["EXC"].contains(key)) << key;
  EXPECT_EQ(j["over_excision"], 0);
  EXPECT_DOUBLE_EQ(metric_by_name(m, "auroc_macro"), m.auroc_macro);
  EXPECT_DOUBLE_EQ(metric_by_name(m, "sensitivity:EXC"), 0.5);
  EXPECT_THROW(metric_by_name(m, "bogus"), InputError);
  EXPECT_THROW(metric_by_name(m, "auroc:MEL"), InputError);
  EXPECT_TRUE(higher_is_better("auroc_macro"));
  EXPECT_FALSE(higher_is_better("ece"));
  EXPECT_FALSE(higher_is_better("brier:EXC"));
}

TEST(Metrics, QuadraticKappaPenalisesDistantErrorsMore) {
  // Same number of errors; near misses (NONE<->CLNC) vs far misses (NONE<->EXC).
  std::vector<int> y = {0, 0, 1, 1, 2, 2};
  std::vector<int> near = {1, 0, 1, 1, 2, 2}, far = {2, 0, 1, 1, 2, 2};
  EXPECT_DOUBLE_EQ(cohen_kappa(y, near, 3), cohen_kappa(y, far, 3));
  EXPECT_GT(cohen_kappa(y, near, 3, true), cohen_kappa(y, far, 3, true));
}
