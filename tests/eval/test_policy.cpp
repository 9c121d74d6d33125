// Decision policies: argmax vs "excise whenever P(EXC) >= t", threshold choice, operating point, JSON files.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/files.h"
#include "eval/metrics.h"
#include "eval/policy.h"
#include "test_util.h"

using namespace skintriage;

namespace {
const std::vector<std::string> kMgmt = {"NONE", "CLNC", "EXC"};
// 4 EXC cases with P(EXC) 0.9, 0.6, 0.3, 0.1; 4 others with P(EXC) 0.5, 0.2, 0.05, 0.0.
const std::vector<int> kY = {2, 2, 2, 2, 0, 1, 1, 0};
const std::vector<std::vector<double>> kP = {{0.05, 0.05, 0.9}, {0.1, 0.3, 0.6}, {0.3, 0.4, 0.3}, {0.5, 0.4, 0.1},
                                             {0.2, 0.3, 0.5},   {0.1, 0.7, 0.2}, {0.45, 0.5, 0.05}, {0.6, 0.4, 0.0}};
}  // namespace

TEST(Policy, ThresholdExcisesThenArgmaxOfTheRest) {
  DecisionPolicy p;
  p.kind = "threshold";
  p.threshold = 0.3;
  EXPECT_EQ(decide(p, {0.35, 0.35, 0.3}, kMgmt), 2);  // argmax would say NONE
  EXPECT_EQ(decide(p, {0.2, 0.55, 0.25}, kMgmt), 1);
  EXPECT_EQ(decide(p, {0.1, 0.2, 0.7}, kMgmt), 2);
  EXPECT_EQ(decide(DecisionPolicy{}, {0.35, 0.35, 0.3}, kMgmt), 0);
  // "then argmax of the rest": below the threshold EXC is never chosen, even when it is the largest.
  DecisionPolicy high = p;
  high.threshold = 0.8;
  EXPECT_EQ(decide(high, {0.1, 0.2, 0.7}, kMgmt), 1);
  DecisionPolicy unknown = p;
  unknown.excision_class = "MEL";
  EXPECT_THROW(decide(unknown, {0.1, 0.2, 0.7}, kMgmt), InputError);
}

TEST(Policy, ChoosesTheLargestThresholdReachingTheSensitivity) {
  EXPECT_DOUBLE_EQ(choose_threshold_for_sensitivity(kY, kP, 2, 1.0), 0.1);
  EXPECT_DOUBLE_EQ(choose_threshold_for_sensitivity(kY, kP, 2, 0.75), 0.3);
  EXPECT_DOUBLE_EQ(choose_threshold_for_sensitivity(kY, kP, 2, 0.7), 0.3);
  EXPECT_DOUBLE_EQ(choose_threshold_for_sensitivity(kY, kP, 2, 0.5), 0.6);
  EXPECT_DOUBLE_EQ(choose_threshold_for_sensitivity(kY, kP, 2, 0.25), 0.9);
  EXPECT_THROW(choose_threshold_for_sensitivity(kY, kP, 2, 0.0), InputError);
  EXPECT_THROW(choose_threshold_for_sensitivity({0, 1}, {{.5, .4, .1}, {.2, .7, .1}}, 2, 0.9), InputError);

  auto pol = threshold_policy_for_sensitivity(kY, kP, kMgmt, "EXC", 0.75);
  auto op = operating_point(pol, kY, kP, kMgmt);
  EXPECT_GE(op.sensitivity, 0.75);
  EXPECT_DOUBLE_EQ(op.sensitivity, 0.75);
  EXPECT_EQ(op.over_excision, 1);  // the 0.5 non-excision case
  EXPECT_DOUBLE_EQ(op.over_excision_rate, 0.25);
  EXPECT_DOUBLE_EQ(op.specificity, 0.75);
  // The operating point agrees with the metrics module given the policy's decisions.
  auto m = compute_metrics(kY, kP, kMgmt, {2, apply_policy(pol, kP, kMgmt)});
  EXPECT_EQ(m.over_excision, op.over_excision);
  EXPECT_DOUBLE_EQ(m.per_class[2].sensitivity, op.sensitivity);
  EXPECT_DOUBLE_EQ(m.accuracy, op.accuracy);
  auto j = to_json(op);
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), 0.3);
  EXPECT_TRUE(to_json(operating_point(DecisionPolicy{}, kY, kP, kMgmt))["threshold"].is_null());
}

TEST(Policy, JsonRoundTripAndErrors) {
  std::string dir = testutil::temp_dir("policy");
  DecisionPolicy p;
  p.kind = "threshold";
  p.threshold = 0.23;
  p.min_sensitivity = 0.95;
  p.chosen_on = "valid";
  save_policy(dir + "/policy.json", p);
  auto q = load_policy(dir + "/policy.json");
  EXPECT_EQ(q.kind, "threshold");
  EXPECT_DOUBLE_EQ(q.threshold, 0.23);
  EXPECT_EQ(q.excision_class, "EXC");
  EXPECT_DOUBLE_EQ(q.min_sensitivity, 0.95);
  EXPECT_EQ(q.chosen_on, "valid");
  EXPECT_EQ(policy_from_json(nlohmann::json{{"kind", "argmax"}}).kind, "argmax");
  EXPECT_THROW(policy_from_json(nlohmann::json{{"kind", "vote"}}), InputError);
  EXPECT_THROW(policy_from_json(nlohmann::json{{"kind", "threshold"}}), InputError);
  EXPECT_THROW(policy_from_json(nlohmann::json{{"kind", "threshold"}, {"threshold", 1.5}}), InputError);
  EXPECT_THROW(policy_from_json(nlohmann::json{{"kind", "threshold"}, {"threshold", "high"}}), InputError);
  write_file_atomic(dir + "/bad.json", "{not json");
  try {
    load_policy(dir + "/bad.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
  }
}
