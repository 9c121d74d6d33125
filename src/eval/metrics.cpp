#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "eval/calibration.h"

namespace skintriage {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den) { return den > 0 ? num / den : kNaN; }

// Mean over the finite values; names of the classes whose value is NaN go to `excluded`.
double macro_mean(const std::vector<ClassMetrics>& pcs, double ClassMetrics::*field,
                  std::vector<std::string>& excluded) {
  double sum = 0;
  int n = 0;
  for (const auto& c : pcs) {
    double v = c.*field;
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    } else {
      excluded.push_back(c.name);
    }
  }
  return n ? sum / n : kNaN;
}

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

int class_index(const std::vector<std::string>& classes, const std::string& name) {
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == name) return static_cast<int>(i);
  return -1;
}

void validate_scores(const std::vector<int>& labels, const std::vector<std::vector<double>>& probs, size_t k,
                     const std::string& what) {
  if (labels.empty()) throw InputError(what + ": no cases (empty input)");
  if (probs.size() != labels.size())
    throw InputError(what + ": " + std::to_string(labels.size()) + " labels but " + std::to_string(probs.size()) +
                     " probability rows");
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string row = what + ": row " + std::to_string(i);
    if (labels[i] < 0 || static_cast<size_t>(labels[i]) >= k)
      throw InputError(row + ": label index " + std::to_string(labels[i]) + " out of range [0, " +
                       std::to_string(k) + ")");
    if (probs[i].size() != k)
      throw InputError(row + ": expected " + std::to_string(k) + " probabilities, found " +
                       std::to_string(probs[i].size()));
    for (size_t c = 0; c < k; ++c) {
      double p = probs[i][c];
      if (!std::isfinite(p))
        throw InputError(row + ": class " + std::to_string(c) + ": probability is not finite (" +
                         std::to_string(p) + ")");
      if (p < -1e-9 || p > 1 + 1e-9)
        throw InputError(row + ": class " + std::to_string(c) + ": probability " + std::to_string(p) +
                         " outside [0, 1]");
    }
  }
}

std::vector<int> argmax_decisions(const std::vector<std::vector<double>>& probs) {
  std::vector<int> out(probs.size(), 0);
  for (size_t i = 0; i < probs.size(); ++i) {
    const auto& row = probs[i];
    int best = 0;
    for (size_t c = 1; c < row.size(); ++c)
      if (row[c] > row[static_cast<size_t>(best)]) best = static_cast<int>(c);
    out[i] = best;
  }
  return out;
}

double auroc_binary(const std::vector<bool>& positive, const std::vector<double>& scores) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the midranks (1-based) of the positives.
  double rank_sum = 0;
  long n_pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    double midrank = 0.5 * (static_cast<double>(i + 1) + static_cast<double>(j + 1));
    for (size_t t = i; t <= j; ++t)
      if (positive[order[t]]) {
        rank_sum += midrank;
        ++n_pos;
      }
    i = j + 1;
  }
  long n_neg = static_cast<long>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return kNaN;
  double u = rank_sum - 0.5 * static_cast<double>(n_pos) * static_cast<double>(n_pos + 1);
  return u / (static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

std::vector<std::vector<long>> confusion_matrix(const std::vector<int>& truth, const std::vector<int>& predicted,
                                                int k) {
  if (truth.size() != predicted.size()) throw InputError("confusion matrix: sizes differ");
  std::vector<std::vector<long>> cm(static_cast<size_t>(k), std::vector<long>(static_cast<size_t>(k), 0));
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || truth[i] >= k || predicted[i] < 0 || predicted[i] >= k)
      throw InputError("confusion matrix: row " + std::to_string(i) + ": class index out of range");
    ++cm[static_cast<size_t>(truth[i])][static_cast<size_t>(predicted[i])];
  }
  return cm;
}

double cohen_kappa(const std::vector<int>& a, const std::vector<int>& b, int k, bool quadratic) {
  auto cm = confusion_matrix(a, b, k);
  const double n = static_cast<double>(a.size());
  if (n == 0) return kNaN;
  std::vector<double> rows(static_cast<size_t>(k), 0), cols(static_cast<size_t>(k), 0);
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) {
      rows[static_cast<size_t>(i)] += static_cast<double>(cm[static_cast<size_t>(i)][static_cast<size_t>(j)]);
      cols[static_cast<size_t>(j)] += static_cast<double>(cm[static_cast<size_t>(i)][static_cast<size_t>(j)]);
    }
  // kappa = 1 - sum w O / sum w E with disagreement weights w (0 on the diagonal), as sklearn computes it.
  double observed = 0, expected = 0;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) {
      double w = quadratic ? static_cast<double>((i - j) * (i - j)) : (i == j ? 0.0 : 1.0);
      observed += w * static_cast<double>(cm[static_cast<size_t>(i)][static_cast<size_t>(j)]);
      expected += w * rows[static_cast<size_t>(i)] * cols[static_cast<size_t>(j)] / n;
    }
  if (!(expected > 0)) return kNaN;
  return 1.0 - observed / expected;
}

ClassificationMetrics compute_metrics(const std::vector<int>& labels, const std::vector<std::vector<double>>& probs,
                                      const std::vector<std::string>& classes, const MetricsOptions& options) {
  const size_t k = classes.size();
  if (k < 2) throw InputError("metrics: need at least 2 classes, got " + std::to_string(k));
  validate_scores(labels, probs, k);
  const size_t n = labels.size();
  if (options.excision_class < -1 || options.excision_class >= static_cast<int>(k))
    throw InputError("metrics: excision class index " + std::to_string(options.excision_class) + " out of range");

  ClassificationMetrics m;
  m.classes = classes;
  m.n = static_cast<long>(n);
  m.excision_class = options.excision_class;
  if (options.predictions.empty()) {
    m.predictions = argmax_decisions(probs);
  } else {
    if (options.predictions.size() != n)
      throw InputError("metrics: " + std::to_string(options.predictions.size()) + " decisions for " +
                       std::to_string(n) + " cases");
    for (size_t i = 0; i < n; ++i)
      if (options.predictions[i] < 0 || static_cast<size_t>(options.predictions[i]) >= k)
        throw InputError("metrics: row " + std::to_string(i) + ": decision " +
                         std::to_string(options.predictions[i]) + " out of range");
    m.predictions = options.predictions;
    m.explicit_predictions = true;
  }
  const int ki = static_cast<int>(k);
  m.confusion = confusion_matrix(labels, m.predictions, ki);

  long correct = 0;
  for (size_t c = 0; c < k; ++c) correct += m.confusion[c][c];
  m.accuracy = static_cast<double>(correct) / static_cast<double>(n);

  std::vector<bool> positive(n);
  std::vector<double> score(n);
  double bal_sum = 0;
  int bal_n = 0;
  for (size_t c = 0; c < k; ++c) {
    ClassMetrics pc;
    pc.name = classes[c];
    long tp = m.confusion[c][c], fn = 0, fp = 0;
    for (size_t j = 0; j < k; ++j) {
      pc.support += m.confusion[c][j];
      pc.predicted += m.confusion[j][c];
    }
    fn = pc.support - tp;
    fp = pc.predicted - tp;
    long tn = static_cast<long>(n) - tp - fn - fp;
    pc.sensitivity = ratio(static_cast<double>(tp), static_cast<double>(tp + fn));
    pc.specificity = ratio(static_cast<double>(tn), static_cast<double>(tn + fp));
    pc.precision = pc.predicted > 0 ? static_cast<double>(tp) / static_cast<double>(pc.predicted) : 0.0;
    pc.f1 = ratio(2.0 * static_cast<double>(tp), static_cast<double>(2 * tp + fp + fn));
    double brier = 0;
    for (size_t i = 0; i < n; ++i) {
      positive[i] = labels[i] == static_cast<int>(c);
      score[i] = probs[i][c];
      double d = score[i] - (positive[i] ? 1.0 : 0.0);
      brier += d * d;
    }
    pc.brier = brier / static_cast<double>(n);
    pc.auroc = auroc_binary(positive, score);
    if (pc.support > 0) {
      bal_sum += pc.sensitivity;
      ++bal_n;
    }
    m.per_class.push_back(pc);
  }
  m.balanced_accuracy = bal_sum / bal_n;  // bal_n >= 1 since n >= 1
  m.sensitivity_macro = macro_mean(m.per_class, &ClassMetrics::sensitivity, m.macro_excluded["sensitivity"]);
  m.specificity_macro = macro_mean(m.per_class, &ClassMetrics::specificity, m.macro_excluded["specificity"]);
  m.precision_macro = macro_mean(m.per_class, &ClassMetrics::precision, m.macro_excluded["precision"]);
  m.f1_macro = macro_mean(m.per_class, &ClassMetrics::f1, m.macro_excluded["f1"]);
  m.auroc_macro = macro_mean(m.per_class, &ClassMetrics::auroc, m.macro_excluded["auroc"]);
  for (auto it = m.macro_excluded.begin(); it != m.macro_excluded.end();)
    it = it->second.empty() ? m.macro_excluded.erase(it) : std::next(it);

  m.kappa = cohen_kappa(labels, m.predictions, ki, false);
  m.kappa_quadratic = cohen_kappa(labels, m.predictions, ki, true);

  if (m.excision_class >= 0) {
    const size_t e = static_cast<size_t>(m.excision_class);
    long others = 0;
    for (size_t c = 0; c < k; ++c)
      if (c != e) {
        m.over_excision += m.confusion[c][e];
        for (size_t j = 0; j < k; ++j) others += m.confusion[c][j];
      }
    m.over_excision_rate = ratio(static_cast<double>(m.over_excision), static_cast<double>(others));
  } else {
    m.over_excision = 0;
    m.over_excision_rate = kNaN;
  }

  m.ece = reliability_diagram(labels, probs, 15).ece;
  double brier = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < k; ++c) {
      double d = probs[i][c] - (labels[i] == static_cast<int>(c) ? 1.0 : 0.0);
      brier += d * d;
    }
  m.brier = brier / static_cast<double>(n);
  return m;
}

nlohmann::json to_json(const ClassificationMetrics& m) {
  nlohmann::json j;
  j["n"] = m.n;
  j["classes"] = m.classes;
  j["accuracy"] = num(m.accuracy);
  j["balanced_accuracy"] = num(m.balanced_accuracy);
  j["auroc_macro"] = num(m.auroc_macro);
  j["sensitivity_macro"] = num(m.sensitivity_macro);
  j["specificity_macro"] = num(m.specificity_macro);
  j["precision_macro"] = num(m.precision_macro);
  j["f1_macro"] = num(m.f1_macro);
  nlohmann::json pcs = nlohmann::json::object();
  for (const auto& c : m.per_class)
    pcs[c.name] = {{"sensitivity", num(c.sensitivity)}, {"specificity", num(c.specificity)},
                   {"precision", num(c.precision)},     {"auroc", num(c.auroc)},
                   {"f1", num(c.f1)},                   {"support", c.support},
                   {"predicted", c.predicted},          {"brier", num(c.brier)}};
  j["per_class"] = pcs;
  j["confusion"] = m.confusion;
  j["kappa"] = num(m.kappa);
  j["kappa_quadratic"] = num(m.kappa_quadratic);
  if (m.excision_class >= 0) {
    j["excision_class"] = m.classes[static_cast<size_t>(m.excision_class)];
    j["over_excision"] = m.over_excision;
  } else {
    j["excision_class"] = nullptr;
    j["over_excision"] = nullptr;
  }
  j["over_excision_rate"] = num(m.over_excision_rate);
  j["ece"] = num(m.ece);
  j["brier"] = num(m.brier);
  j["macro_excluded"] = m.macro_excluded;
  j["decisions"] = m.explicit_predictions ? "policy" : "argmax";
  return j;
}

double metric_by_name(const ClassificationMetrics& m, const std::string& name) {
  auto colon = name.find(':');
  if (colon != std::string::npos) {
    std::string metric = name.substr(0, colon), cls = name.substr(colon + 1);
    int c = class_index(m.classes, cls);
    if (c < 0) throw InputError("metric '" + name + "': unknown class '" + cls + "'");
    const ClassMetrics& pc = m.per_class[static_cast<size_t>(c)];
    if (metric == "sensitivity") return pc.sensitivity;
    if (metric == "specificity") return pc.specificity;
    if (metric == "precision") return pc.precision;
    if (metric == "auroc") return pc.auroc;
    if (metric == "f1") return pc.f1;
    if (metric == "brier") return pc.brier;
    throw InputError("metric '" + name + "': unknown per-class metric '" + metric +
                     "' (sensitivity, specificity, precision, auroc, f1, brier)");
  }
  if (name == "accuracy") return m.accuracy;
  if (name == "balanced_accuracy") return m.balanced_accuracy;
  if (name == "auroc_macro") return m.auroc_macro;
  if (name == "sensitivity_macro") return m.sensitivity_macro;
  if (name == "specificity_macro") return m.specificity_macro;
  if (name == "precision_macro") return m.precision_macro;
  if (name == "f1_macro") return m.f1_macro;
  if (name == "kappa") return m.kappa;
  if (name == "kappa_quadratic") return m.kappa_quadratic;
  if (name == "ece") return m.ece;
  if (name == "brier") return m.brier;
  if (name == "over_excision")
    return m.excision_class >= 0 ? static_cast<double>(m.over_excision) : std::numeric_limits<double>::quiet_NaN();
  if (name == "over_excision_rate") return m.over_excision_rate;
  throw InputError("unknown metric '" + name +
                   "' (accuracy, balanced_accuracy, auroc_macro, sensitivity_macro, specificity_macro, "
                   "precision_macro, f1_macro, kappa, kappa_quadratic, ece, brier, over_excision, "
                   "over_excision_rate, or <metric>:<CLASS>)");
}

bool higher_is_better(const std::string& metric_name) {
  std::string base = metric_name.substr(0, metric_name.find(':'));
  return !(base == "ece" || base == "brier" || base == "over_excision" || base == "over_excision_rate");
}

}  // namespace skintriage
