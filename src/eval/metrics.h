// The one metrics module of the project: every command that scores predictions (train's model
// selection, eval, experiment, report, metrics, agree) goes through compute_metrics().
//
// Input is plain data: integer labels [N] (class index), probabilities [N][K] and class names.
// Decisions are the argmax of the probabilities (ties go to the lowest class index, as numpy) unless
// explicit predictions are given, so that a decision policy (eval/policy.h) can change them.
//
// Definitions (one-vs-rest per class k; "positive" = label k, "predicted" = decision k):
//   sensitivity = TP / (TP + FN)   NaN when class k is absent from the labels
//   specificity = TN / (TN + FP)   NaN when every case has label k
//   precision   = TP / (TP + FP)   0 when class k is never predicted (never NaN)
//   f1          = 2TP / (2TP + FP + FN)   NaN only when k is neither present nor predicted
//   auroc       = Mann-Whitney U / (n_pos * n_neg) on the score p_k, ties counted as half (midranks),
//                 identical to sklearn's roc_auc_score; NaN when k is absent or is the only class.
// Macro means are unweighted means over the classes where the value is defined; a class left out is
// listed in `macro_excluded` (so a NaN never silently drags a mean, and a reader can see the mean is partial).
// balanced_accuracy = mean sensitivity over classes present in the labels (= sklearn's).
// Cohen's kappa uses all K classes (= sklearn with labels=range(K)); quadratic weights (i-j)^2 on class
// index, which is the ordered scale NONE < CLNC < EXC for management. NaN when the expected agreement is 1.
// over_excision = number of cases whose label is not the excision class but whose decision is;
// rate = over_excision / number of non-excision cases (NaN when there are none).
// ece: 15 equal-width bins on the top-label confidence max_k p_k, bin b = (b/15, (b+1)/15] (0 goes to bin 0),
//      ECE = sum_b n_b/N |accuracy_b - confidence_b|, accuracy of the argmax decision (calibration is a property
//      of the probabilities, so a policy does not change it).
// brier: multi-class, mean over cases of sum_k (p_k - y_k)^2 (twice sklearn's binary form for K = 2).
//
// Errors (InputError): empty input, rows of the wrong width, NaN/inf or out-of-[0,1] probabilities
// (naming the row), labels or predictions out of range, fewer than 2 class names.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skintriage {

/// One-vs-rest figures of one class.
struct ClassMetrics {
  std::string name;
  long support = 0;    ///< cases whose label is this class
  long predicted = 0;  ///< cases decided as this class
  double sensitivity = 0, specificity = 0, precision = 0, f1 = 0, auroc = 0;
  double brier = 0;    ///< binary Brier of this class: mean (p_k - [y == k])^2 (= sklearn brier_score_loss)
};

struct ClassificationMetrics {
  std::vector<std::string> classes;
  long n = 0;
  double accuracy = 0, balanced_accuracy = 0;
  std::vector<ClassMetrics> per_class;  ///< same order as classes
  double sensitivity_macro = 0, specificity_macro = 0, precision_macro = 0, f1_macro = 0, auroc_macro = 0;
  /// metric name ("sensitivity", "specificity", "f1", "auroc") -> classes left out of its macro mean.
  std::map<std::string, std::vector<std::string>> macro_excluded;
  std::vector<std::vector<long>> confusion;  ///< [true][predicted]
  double kappa = 0, kappa_quadratic = 0;
  int excision_class = -1;  ///< -1 = no excision class: over-excision is not computed
  long over_excision = 0;
  double over_excision_rate = 0;
  double ece = 0, brier = 0;
  std::vector<int> predictions;  ///< the decisions the figures were computed from
  bool explicit_predictions = false;  ///< true when decisions came from a policy, not argmax
};

struct MetricsOptions {
  int excision_class = -1;       ///< class index of "excise" (EXC), -1 = none
  std::vector<int> predictions;  ///< explicit decisions [N]; empty = argmax of probabilities
};

/// Computes every metric. `classes` gives K (>= 2) and the names used in JSON.
ClassificationMetrics compute_metrics(const std::vector<int>& labels, const std::vector<std::vector<double>>& probs,
                                      const std::vector<std::string>& classes, const MetricsOptions& options = {});

/// Index of `name` in `classes`, or -1 ("EXC" for management). Convenience for excision_class.
int class_index(const std::vector<std::string>& classes, const std::string& name);

/// JSON with the keys of results.json: accuracy, balanced_accuracy, auroc_macro, sensitivity_macro,
/// specificity_macro, precision_macro, f1_macro, per_class {NAME: {sensitivity, specificity, precision, auroc,
/// f1, support, predicted, brier}}, confusion, over_excision, over_excision_rate, kappa, kappa_quadratic, ece,
/// brier, n, classes, macro_excluded. NaN is written as null.
nlohmann::json to_json(const ClassificationMetrics& m);

/// Looks up a scalar metric by name: any top-level numeric key of to_json ("auroc_macro", "accuracy",
/// "kappa", "ece", ...) or "<metric>:<CLASS>" for a per-class value ("auroc:EXC"). InputError when unknown.
double metric_by_name(const ClassificationMetrics& m, const std::string& name);
/// False for metrics where lower is better (ece, brier, over_excision, over_excision_rate).
bool higher_is_better(const std::string& metric_name);

// ---- building blocks (also used by statistics, agreement and policy) ----

/// Argmax per row (ties -> lowest index).
std::vector<int> argmax_decisions(const std::vector<std::vector<double>>& probs);
/// Exact AUROC of scores for a binary labelling (positive[i] true = positive); NaN when either side is empty.
double auroc_binary(const std::vector<bool>& positive, const std::vector<double>& scores);
/// Confusion matrix [true][predicted] over K classes.
std::vector<std::vector<long>> confusion_matrix(const std::vector<int>& truth, const std::vector<int>& predicted, int k);
/// Cohen's kappa between two raters over K categories; quadratic = (i-j)^2 weights. NaN when undefined.
double cohen_kappa(const std::vector<int>& a, const std::vector<int>& b, int k, bool quadratic = false);
/// Checks labels/probabilities (and optional predictions) and throws InputError naming the row; `what`
/// prefixes messages (e.g. a file name).
void validate_scores(const std::vector<int>& labels, const std::vector<std::vector<double>>& probs, size_t k,
                     const std::string& what = "predictions");

}  // namespace skintriage
