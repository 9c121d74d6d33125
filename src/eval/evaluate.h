// One call that scores a predictions file (and compares it with a second one): what `skintriage metrics`
// prints, and what experiment/report reuse for their paired tests.
//
// evaluate_predictions() returns JSON:
//   {"file", "n", "classes", "metrics": to_json(ClassificationMetrics), "ci": {name: {estimate, lower, upper,
//    std_error, valid_resamples}}, "reliability": {...}, "operating_point": {...} (when an excision class exists),
//    "policy": {...}}
// paired_tests() returns {"n", "mcnemar": {...}, "delong": {CLASS: {...} or {"error": why}}}.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "eval/policy.h"
#include "eval/predictions_csv.h"
#include "eval/statistics.h"

namespace skintriage {

struct EvaluateOptions {
  std::string excision_class = "EXC";  ///< used when present among the classes; "" = none
  DecisionPolicy policy;               ///< default argmax
  int bootstrap = 2000;                ///< resamples; 0 = no confidence intervals
  uint64_t seed = 20210923;
};

nlohmann::json evaluate_predictions(const Predictions& p, const EvaluateOptions& options = {});

/// Paired tests of two models on the same cases (`b` already aligned to `a`, see align_predictions):
/// McNemar (exact and mid-p) on the correctness of the policy's decisions, DeLong per class (one-vs-rest).
/// A class where DeLong is undefined (fewer than 2 positives or negatives) gets null statistics and an "error".
nlohmann::json paired_tests(const Predictions& a, const Predictions& b, const EvaluateOptions& options = {});

/// Human-readable table of an evaluate_predictions() result (and of paired_tests() when not null).
std::string format_evaluation(const nlohmann::json& evaluation);
std::string format_paired(const nlohmann::json& paired, const std::string& name_a, const std::string& name_b);

}  // namespace skintriage
