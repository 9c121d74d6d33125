#include "eval/policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "eval/metrics.h"

namespace skintriage {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

int excision_index(const DecisionPolicy& policy, const std::vector<std::string>& classes) {
  int e = class_index(classes, policy.excision_class);
  if (e < 0) {
    std::string known;
    for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
    throw InputError("decision policy: class '" + policy.excision_class + "' is not among the classes (" + known + ")");
  }
  return e;
}

int decide_with(const DecisionPolicy& policy, const std::vector<double>& probs, int exc) {
  if (policy.kind == "argmax" || exc < 0) {
    int best = 0;
    for (size_t c = 1; c < probs.size(); ++c)
      if (probs[c] > probs[static_cast<size_t>(best)]) best = static_cast<int>(c);
    return best;
  }
  if (probs[static_cast<size_t>(exc)] >= policy.threshold) return exc;
  int best = -1;
  for (size_t c = 0; c < probs.size(); ++c) {
    if (static_cast<int>(c) == exc) continue;
    if (best < 0 || probs[c] > probs[static_cast<size_t>(best)]) best = static_cast<int>(c);
  }
  return best;
}

}  // namespace

int decide(const DecisionPolicy& policy, const std::vector<double>& probs, const std::vector<std::string>& classes) {
  if (probs.size() != classes.size() || probs.size() < 2)
    throw InputError("decision policy: " + std::to_string(probs.size()) + " probabilities for " +
                     std::to_string(classes.size()) + " classes");
  int exc = policy.kind == "threshold" ? excision_index(policy, classes) : -1;
  return decide_with(policy, probs, exc);
}

std::vector<int> apply_policy(const DecisionPolicy& policy, const std::vector<std::vector<double>>& probs,
                              const std::vector<std::string>& classes) {
  int exc = policy.kind == "threshold" ? excision_index(policy, classes) : -1;
  std::vector<int> out;
  out.reserve(probs.size());
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i].size() != classes.size())
      throw InputError("decision policy: row " + std::to_string(i) + ": " + std::to_string(probs[i].size()) +
                       " probabilities for " + std::to_string(classes.size()) + " classes");
    out.push_back(decide_with(policy, probs[i], exc));
  }
  return out;
}

nlohmann::json policy_to_json(const DecisionPolicy& policy) {
  nlohmann::json j = {{"kind", policy.kind}};
  if (policy.kind == "threshold") {
    j["class"] = policy.excision_class;
    j["threshold"] = policy.threshold;
    if (policy.min_sensitivity >= 0) j["min_sensitivity"] = policy.min_sensitivity;
    if (!policy.chosen_on.empty()) j["chosen_on"] = policy.chosen_on;
  }
  return j;
}

DecisionPolicy policy_from_json(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object()) throw InputError(what + ": expected a JSON object");
  DecisionPolicy p;
  if (!j.contains("kind") || !j["kind"].is_string())
    throw InputError(what + ": field 'kind' must be \"argmax\" or \"threshold\"");
  p.kind = j["kind"].get<std::string>();
  if (p.kind == "argmax") return p;
  if (p.kind != "threshold")
    throw InputError(what + ": field 'kind': unknown policy '" + p.kind + "' (argmax, threshold)");
  if (j.contains("class")) {
    if (!j["class"].is_string()) throw InputError(what + ": field 'class' must be a class name");
    p.excision_class = j["class"].get<std::string>();
  }
  if (!j.contains("threshold") || !j["threshold"].is_number())
    throw InputError(what + ": field 'threshold' must be a number in [0, 1]");
  p.threshold = j["threshold"].get<double>();
  if (!(p.threshold >= 0 && p.threshold <= 1)) throw InputError(what + ": field 'threshold' must be in [0, 1]");
  if (j.contains("min_sensitivity")) {
    if (!j["min_sensitivity"].is_number()) throw InputError(what + ": field 'min_sensitivity' must be a number");
    p.min_sensitivity = j["min_sensitivity"].get<double>();
  }
  if (j.contains("chosen_on")) {
    if (!j["chosen_on"].is_string()) throw InputError(what + ": field 'chosen_on' must be a string");
    p.chosen_on = j["chosen_on"].get<std::string>();
  }
  return p;
}

DecisionPolicy load_policy(const std::string& path) {
  std::string text = read_text_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path + ": not valid JSON (" + e.what() + ")");
  }
  return policy_from_json(j, path);
}

void save_policy(const std::string& path, const DecisionPolicy& policy) {
  write_file_atomic(path, policy_to_json(policy).dump(2) + "\n");
}

double choose_threshold_for_sensitivity(const std::vector<int>& labels, const std::vector<std::vector<double>>& probs,
                                        int exc_index, double min_sensitivity) {
  if (exc_index < 0) throw InputError("threshold choice: no excision class");
  if (!(min_sensitivity > 0 && min_sensitivity <= 1))
    throw InputError("threshold choice: minimum sensitivity must be in (0, 1], got " + std::to_string(min_sensitivity));
  validate_scores(labels, probs, probs.empty() ? 0 : probs[0].size(), "threshold choice");
  if (static_cast<size_t>(exc_index) >= probs[0].size()) throw InputError("threshold choice: excision class out of range");
  std::vector<double> pos;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == exc_index) pos.push_back(probs[i][static_cast<size_t>(exc_index)]);
  if (pos.empty()) throw InputError("threshold choice: no case has the excision label, sensitivity is undefined");
  std::sort(pos.begin(), pos.end(), [](double a, double b) { return a > b; });
  // Smallest count of excised positives that reaches the sensitivity; the k-th largest score is the
  // largest threshold that excises at least k of them (ties only add more).
  const double np = static_cast<double>(pos.size());
  size_t k = static_cast<size_t>(std::ceil(min_sensitivity * np - 1e-9));
  k = std::clamp<size_t>(k, 1, pos.size());
  return pos[k - 1];
}

DecisionPolicy threshold_policy_for_sensitivity(const std::vector<int>& labels,
                                                const std::vector<std::vector<double>>& probs,
                                                const std::vector<std::string>& classes,
                                                const std::string& excision_class, double min_sensitivity,
                                                const std::string& chosen_on) {
  int e = class_index(classes, excision_class);
  if (e < 0) throw InputError("threshold choice: class '" + excision_class + "' is not among the classes");
  DecisionPolicy p;
  p.kind = "threshold";
  p.excision_class = excision_class;
  p.threshold = choose_threshold_for_sensitivity(labels, probs, e, min_sensitivity);
  p.min_sensitivity = min_sensitivity;
  p.chosen_on = chosen_on;
  return p;
}

OperatingPoint operating_point(const DecisionPolicy& policy, const std::vector<int>& labels,
                               const std::vector<std::vector<double>>& probs, const std::vector<std::string>& classes) {
  validate_scores(labels, probs, classes.size(), "operating point");
  DecisionPolicy p = policy;
  int e = excision_index(p, classes);
  std::vector<int> dec = apply_policy(p, probs, classes);
  OperatingPoint op;
  op.policy_kind = p.kind;
  op.threshold = p.kind == "threshold" ? p.threshold : kNaN;
  long tp = 0, correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (dec[i] == labels[i]) ++correct;
    if (labels[i] == e) {
      ++op.excise_labelled;
      if (dec[i] == e) ++tp;
    } else {
      ++op.other_labelled;
      if (dec[i] == e) ++op.over_excision;
    }
  }
  op.sensitivity = op.excise_labelled ? static_cast<double>(tp) / static_cast<double>(op.excise_labelled) : kNaN;
  op.specificity = op.other_labelled
                       ? static_cast<double>(op.other_labelled - op.over_excision) / static_cast<double>(op.other_labelled)
                       : kNaN;
  op.over_excision_rate =
      op.other_labelled ? static_cast<double>(op.over_excision) / static_cast<double>(op.other_labelled) : kNaN;
  op.accuracy = static_cast<double>(correct) / static_cast<double>(labels.size());
  return op;
}

std::string describe_policy(const DecisionPolicy& p) {
  if (p.kind != "threshold") return "argmax: the most probable management class";
  std::string s = p.excision_class + " whenever P(" + p.excision_class + ") >= " + fixed(p.threshold, 3) +
                  ", otherwise the most probable other class";
  if (p.min_sensitivity > 0)
    s += " (threshold chosen on " + (p.chosen_on.empty() ? std::string("validation") : p.chosen_on) +
         " for excision sensitivity >= " + fixed(p.min_sensitivity, 2) + ")";
  return s;
}

nlohmann::json to_json(const OperatingPoint& op) {
  return {{"policy", op.policy_kind},
          {"threshold", num(op.threshold)},
          {"excise_labelled", op.excise_labelled},
          {"other_labelled", op.other_labelled},
          {"sensitivity", num(op.sensitivity)},
          {"specificity", num(op.specificity)},
          {"over_excision", op.over_excision},
          {"over_excision_rate", num(op.over_excision_rate)},
          {"accuracy", num(op.accuracy)}};
}

nlohmann::json policy_report(const DecisionPolicy& policy, const std::vector<int>& labels,
                             const std::vector<std::vector<double>>& probs, const std::vector<std::string>& classes) {
  if (policy.kind == "argmax" && class_index(classes, policy.excision_class) < 0) return nullptr;
  return {{"policy", policy_to_json(policy)}, {"operating_point", to_json(operating_point(policy, labels, probs, classes))}};
}

}  // namespace skintriage
