// Decision policies: how management probabilities become a decision.
//
// "argmax" (the default) picks the most probable class. "threshold" excises whenever P(EXC) >= t and
// otherwise takes the argmax of the remaining classes — a clinician-facing knob that trades
// over-excision for excision sensitivity (melanoma must not be missed). The threshold can be chosen on the
// validation split as the largest t that reaches a minimum excision sensitivity; the operating point reports
// what it costs. Policies are JSON files:
//   {"kind": "threshold", "class": "EXC", "threshold": 0.23, "min_sensitivity": 0.95, "chosen_on": "valid"}
//   {"kind": "argmax"}
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skintriage {

struct DecisionPolicy {
  std::string kind = "argmax";         ///< "argmax" or "threshold"
  std::string excision_class = "EXC";  ///< class the threshold applies to
  double threshold = 0.5;              ///< used when kind == "threshold"
  double min_sensitivity = -1;         ///< provenance when the threshold was chosen (-1 = set by hand)
  std::string chosen_on;               ///< provenance: split name ("" = set by hand)
};

/// Decision for one row of probabilities in the class order `classes`. InputError when the policy's class is
/// not among `classes` (threshold kind only).
int decide(const DecisionPolicy& policy, const std::vector<double>& probs, const std::vector<std::string>& classes);
std::vector<int> apply_policy(const DecisionPolicy& policy, const std::vector<std::vector<double>>& probs,
                              const std::vector<std::string>& classes);

nlohmann::json policy_to_json(const DecisionPolicy& policy);
/// One line for people: "EXC whenever P(EXC) >= 0.231, otherwise the most probable other class (threshold chosen
/// on valid for excision sensitivity >= 0.95)" or "argmax: the most probable management class".
std::string describe_policy(const DecisionPolicy& policy);
/// InputError (prefixed by `what`) for an unknown kind, a missing/non-numeric threshold or one outside [0, 1].
DecisionPolicy policy_from_json(const nlohmann::json& j, const std::string& what = "policy");
DecisionPolicy load_policy(const std::string& path);
void save_policy(const std::string& path, const DecisionPolicy& policy);

/// The largest t such that the fraction of excision-labelled cases with P(EXC) >= t is at least
/// `min_sensitivity` (in (0, 1]). InputError when no case has the excision label or inputs are invalid.
double choose_threshold_for_sensitivity(const std::vector<int>& labels, const std::vector<std::vector<double>>& probs,
                                        int exc_index, double min_sensitivity);
/// choose_threshold_for_sensitivity wrapped into a threshold policy (with provenance).
DecisionPolicy threshold_policy_for_sensitivity(const std::vector<int>& labels,
                                                const std::vector<std::vector<double>>& probs,
                                                const std::vector<std::string>& classes,
                                                const std::string& excision_class, double min_sensitivity,
                                                const std::string& chosen_on = "valid");

struct OperatingPoint {
  std::string policy_kind;
  double threshold = 0;           ///< NaN for argmax
  long excise_labelled = 0, other_labelled = 0;
  double sensitivity = 0;         ///< excision sensitivity (NaN when no excision-labelled case)
  double specificity = 0;         ///< non-excision cases not excised (NaN when none)
  long over_excision = 0;         ///< non-excision cases decided as excision
  double over_excision_rate = 0;  ///< over_excision / other_labelled
  double accuracy = 0;            ///< of the policy's decisions over all classes
};

OperatingPoint operating_point(const DecisionPolicy& policy, const std::vector<int>& labels,
                               const std::vector<std::vector<double>>& probs, const std::vector<std::string>& classes);
nlohmann::json to_json(const OperatingPoint& op);
/// {"policy": {...}, "operating_point": {...}}: `policy` and what it costs on these labelled cases. Null for
/// the argmax policy over classes without its excision class (there is no excision to report); otherwise
/// InputError as operating_point().
nlohmann::json policy_report(const DecisionPolicy& policy, const std::vector<int>& labels,
                             const std::vector<std::vector<double>>& probs, const std::vector<std::string>& classes);

}  // namespace skintriage
