#include "eval/evaluate.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "eval/calibration.h"
#include "eval/metrics.h"

namespace skintriage {

namespace {

int excision_index(const Predictions& p, const EvaluateOptions& o) {
  return o.excision_class.empty() ? -1 : class_index(p.classes, o.excision_class);
}

std::string fmt(const nlohmann::json& v, int digits = 4) {
  if (v.is_null()) return "n/a";
  if (v.is_number_integer()) return std::to_string(v.get<long>());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v.get<double>());
  return buf;
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s += std::string(width - s.size(), ' ');
  return s;
}

std::string ci_text(const nlohmann::json& ev, const std::string& name) {
  if (!ev.contains("ci") || !ev["ci"].contains(name)) return "";
  const auto& ci = ev["ci"][name];
  return "[" + fmt(ci["lower"]) + ", " + fmt(ci["upper"]) + "]";
}

// p-values: fixed decimals, scientific below 0.001 so a tiny p never prints as 0.
std::string fmt_p(const nlohmann::json& v) {
  if (v.is_null()) return "n/a";
  double p = v.get<double>();
  char buf[64];
  if (p < 1e-3)
    std::snprintf(buf, sizeof buf, "%.2e", p);
  else
    std::snprintf(buf, sizeof buf, "%.4f", p);
  return buf;
}

}  // namespace

nlohmann::json evaluate_predictions(const Predictions& p, const EvaluateOptions& o) {
  const int exc = excision_index(p, o);
  std::vector<int> decisions;
  if (o.policy.kind != "argmax") decisions = apply_policy(o.policy, p.probs, p.classes);
  MetricsOptions mo;
  mo.excision_class = exc;
  mo.predictions = decisions;
  ClassificationMetrics m = compute_metrics(p.labels, p.probs, p.classes, mo);
  nlohmann::json j;
  j["file"] = p.source;
  j["n"] = p.size();
  j["classes"] = p.classes;
  j["metrics"] = to_json(m);
  j["policy"] = policy_to_json(o.policy);
  j["reliability"] = to_json(reliability_diagram(p.labels, p.probs, 15));
  if (exc >= 0) {
    DecisionPolicy pol = o.policy;
    pol.excision_class = p.classes[static_cast<size_t>(exc)];
    j["operating_point"] = to_json(operating_point(pol, p.labels, p.probs, p.classes));
  }
  if (o.bootstrap > 0) {
    BootstrapOptions bo;
    bo.resamples = o.bootstrap;
    bo.seed = o.seed;
    nlohmann::json cis = nlohmann::json::object();
    for (const auto& kv : bootstrap_metrics(p.labels, p.probs, p.classes, exc, decisions, bo))
      cis[kv.first] = to_json(kv.second);
    j["ci"] = cis;
    j["bootstrap"] = {{"resamples", o.bootstrap}, {"seed", o.seed}, {"level", 0.95}, {"stratified", true}};
  }
  return j;
}

nlohmann::json paired_tests(const Predictions& a, const Predictions& b, const EvaluateOptions& o) {
  if (a.classes != b.classes || a.labels != b.labels)
    throw InputError("paired tests: the two prediction sets are not aligned (classes or labels differ)");
  auto da = apply_policy(o.policy, a.probs, a.classes), db = apply_policy(o.policy, b.probs, b.classes);
  std::vector<bool> ca(a.size()), cb(b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ca[i] = da[i] == a.labels[i];
    cb[i] = db[i] == b.labels[i];
  }
  nlohmann::json j;
  j["n"] = a.size();
  j["a"] = a.source;
  j["b"] = b.source;
  j["classes"] = a.classes;
  j["mcnemar"] = to_json(mcnemar(ca, cb));
  nlohmann::json dl = nlohmann::json::object();
  for (size_t c = 0; c < a.classes.size(); ++c) {
    std::vector<bool> pos(a.size());
    std::vector<double> sa(a.size()), sb(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      pos[i] = a.labels[i] == static_cast<int>(c);
      sa[i] = a.probs[i][c];
      sb[i] = b.probs[i][c];
    }
    DeLongResult d = delong_test(pos, sa, sb);
    nlohmann::json jd = to_json(d);
    if (!std::isfinite(d.variance))
      jd["error"] = "DeLong needs at least 2 positive and 2 negative cases (have " + std::to_string(d.positives) +
                    " and " + std::to_string(d.negatives) + ")";
    dl[a.classes[c]] = jd;
  }
  j["delong"] = dl;
  return j;
}

std::string format_evaluation(const nlohmann::json& ev) {
  std::ostringstream out;
  const auto& m = ev["metrics"];
  out << "predictions: " << ev["file"].get<std::string>() << " (" << ev["n"].get<long>() << " cases; decisions: "
      << ev["policy"]["kind"].get<std::string>();
  if (ev["policy"]["kind"] == "threshold")
    out << " " << ev["policy"]["class"].get<std::string>() << " >= " << fmt(ev["policy"]["threshold"]);
  out << ")\n";
  bool with_ci = ev.contains("ci");
  out << "\n" << pad("metric", 20) << pad("value", 10) << (with_ci ? "95% CI (stratified bootstrap, " +
                                                                         std::to_string(ev["bootstrap"]["resamples"].get<int>()) + " resamples)" : "")
      << "\n";
  for (const char* name : {"accuracy", "balanced_accuracy", "auroc_macro", "sensitivity_macro", "specificity_macro",
                           "precision_macro", "f1_macro", "kappa", "kappa_quadratic", "ece", "brier",
                           "over_excision_rate"}) {
    if (!m.contains(name)) continue;
    std::string label = name;
    out << pad(label, 20) << pad(fmt(m[name]), 10) << ci_text(ev, name) << "\n";
  }
  if (!m["over_excision"].is_null())
    out << pad("over_excision", 20) << m["over_excision"].get<long>() << " (non-" << m["excision_class"].get<std::string>()
        << " cases decided " << m["excision_class"].get<std::string>() << ")\n";
  if (m.contains("macro_excluded") && !m["macro_excluded"].empty())
    for (auto it = m["macro_excluded"].begin(); it != m["macro_excluded"].end(); ++it)
      out << "note: " << it.key() << " undefined for " << it.value().dump() << ", left out of its macro mean\n";

  out << "\n" << pad("class", 8) << pad("n", 6);
  for (const char* h : {"sensitivity", "specificity", "precision", "auroc"}) out << pad(h, with_ci ? 26 : 13);
  out << pad("f1", 8) << "\n";
  for (const auto& cls : ev["classes"]) {
    std::string c = cls.get<std::string>();
    const auto& pc = m["per_class"][c];
    out << pad(c, 8) << pad(std::to_string(pc["support"].get<long>()), 6);
    for (const char* h : {"sensitivity", "specificity", "precision", "auroc"}) {
      std::string cell = fmt(pc[h]);
      if (with_ci) cell += " " + ci_text(ev, std::string(h) + ":" + c);
      out << pad(cell, with_ci ? 26 : 13);
    }
    out << pad(fmt(pc["f1"]), 8) << "\n";
  }
  out << "\nconfusion (rows true, columns decided)\n" << pad("", 8);
  for (const auto& cls : ev["classes"]) out << pad(cls.get<std::string>(), 8);
  out << "\n";
  for (size_t r = 0; r < ev["classes"].size(); ++r) {
    out << pad(ev["classes"][r].get<std::string>(), 8);
    for (const auto& v : m["confusion"][r]) out << pad(std::to_string(v.get<long>()), 8);
    out << "\n";
  }
  if (ev.contains("operating_point")) {
    const auto& op = ev["operating_point"];
    out << "\noperating point: excision sensitivity " << fmt(op["sensitivity"]) << ", specificity "
        << fmt(op["specificity"]) << ", over-excision " << op["over_excision"].get<long>() << "/"
        << op["other_labelled"].get<long>() << " (" << fmt(op["over_excision_rate"]) << ")\n";
  }
  return out.str();
}

std::string format_paired(const nlohmann::json& paired, const std::string& name_a, const std::string& name_b) {
  std::ostringstream out;
  const auto& mc = paired["mcnemar"];
  out << "paired tests on " << paired["n"].get<long>() << " cases: A = " << name_a << ", B = " << name_b << "\n";
  out << "McNemar (correctness): only A right " << mc["only_a"].get<long>() << ", only B right "
      << mc["only_b"].get<long>() << ", exact p = " << fmt_p(mc["p_exact"]) << ", mid-p = " << fmt_p(mc["p_midp"])
      << "\n";
  out << "DeLong (one-vs-rest AUROC):\n" << pad("class", 8) << pad("AUROC A", 10) << pad("AUROC B", 10)
      << pad("diff", 10) << pad("z", 10) << "p\n";
  for (const auto& cls : paired["classes"]) {
    const std::string c = cls.get<std::string>();
    const auto& d = paired["delong"][c];
    out << pad(c, 8);
    if (d.contains("error")) {
      out << "undefined: " << d["error"].get<std::string>() << "\n";
      continue;
    }
    out << pad(fmt(d["auc_a"]), 10) << pad(fmt(d["auc_b"]), 10) << pad(fmt(d["diff"]), 10) << pad(fmt(d["z"], 3), 10)
        << fmt_p(d["p"]) << "\n";
  }
  return out.str();
}

}  // namespace skintriage
