#include "train/experiment.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <iostream>
#include <map>
#include <random>

#include "core/error.h"
#include "core/files.h"
#include "data/check.h"
#include "eval/metrics.h"
#include "eval/predictions_csv.h"
#include "eval/statistics.h"
#include "report/html_report.h"
#include "report/paper.h"
#include "report/results_md.h"
#include "train/management_priors.h"

namespace skintriage {

using nlohmann::json;

namespace {

/// JSON has no NaN: undefined figures (e.g. DeLong's z with one positive case) are written as null.
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

const char* kMgmt = "MGMT";
const char* kDiag = "DIAG";
const std::vector<std::string> kSummaryKeys{"accuracy",        "auroc_macro",       "sensitivity_macro",
                                            "specificity_macro", "precision_macro", "balanced_accuracy",
                                            "f1_macro",        "kappa",             "kappa_quadratic",
                                            "over_excision",   "over_excision_rate", "ece",
                                            "brier"};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Fisher-Yates with the platform-independent bounded draw of eval/statistics.h.
void shuffle(std::vector<int>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform_below(rng, i)]);
}

// a += b, element-wise (summing the seeds' probabilities).
void add_to(std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  if (a.size() != b.size()) throw std::runtime_error("experiment: seeds predicted different numbers of cases");
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t k = 0; k < a[i].size(); ++k) a[i][k] += b[i][k];
}

// One model trained on one split (all its seeds): management outputs on the test part, ensembled.
struct ModelOutcome {
  std::vector<std::string> classes;  ///< management classes
  std::vector<std::string> case_ids;
  std::vector<int> labels;
  std::vector<std::vector<double>> probs;            ///< mean over seeds
  std::vector<int> valid_labels;                     ///< management on the validation part (policy choice)
  std::vector<std::vector<double>> valid_probs;      ///< mean over seeds
  std::vector<json> seed_metrics;                    ///< management metrics of each seed
  std::map<std::string, HeadPredictions> heads;      ///< every trained head, mean over seeds
  std::vector<std::string> run_dirs;                 ///< relative to the experiment folder
  double seconds = 0, extract_seconds = 0;
};

class Protocol {
 public:
  Protocol(const Dataset& data, const ExperimentOptions& o) : data_(data), o_(o) {
    const HeadSpec* m = data.head(kMgmt);
    const HeadSpec* d = data.head(kDiag);
    if (!m) throw InputError(data.source + ": the experiment needs management (MGMT) labels");
    if (!d) throw InputError(data.source + ": the experiment needs diagnosis (DIAG) labels for MGMT_infr");
    mgmt_ = *m;
    exc_ = class_index(mgmt_.classes, "EXC");
    for (size_t i = 0; i < data.cases.size(); ++i) position_of_[data.cases[i].id] = static_cast<int>(i);
    for (const auto& h : data.heads) all_heads_.push_back(h.name);
  }

  const HeadSpec& mgmt() const { return mgmt_; }
  int exc() const { return exc_; }
  double train_seconds = 0, extract_seconds = 0;
  int trainings = 0;

  // Trains `model` ("MGMT_infr", "MGMT_pred", "MGMT_multi") with `inputs` on `split`, all seeds.
  ModelOutcome train(const std::string& model, const std::string& inputs, const SplitSpec& split,
                     const std::string& rel_dir, const std::string& label) {
    ModelOutcome out;
    out.classes = mgmt_.classes;
    TrainConfig cfg = o_.base;
    cfg.inputs = inputs;
    if (model == "MGMT_infr") cfg.heads = {kDiag};
    else if (model == "MGMT_pred") cfg.heads = {kMgmt};
    else cfg.heads = all_heads_;
    if (cfg.mode == "features" && cfg.hidden == 0) cfg.hidden = o_.features_hidden;
    if (cfg.cache_dir.empty()) cfg.cache_dir = join_path(o_.out_dir, ".skintriage_cache");
    if (model == "MGMT_infr") cfg.min_excision_sensitivity = 0;  // its policy is chosen here, on inferred management

    ManagementPriors priors;
    if (model == "MGMT_infr") {
      priors = resolve_priors(o_.priors, data_, split.train);
      write_file_atomic(join_path(join_path(o_.out_dir, rel_dir), "priors.json"), priors.to_json().dump(2));
    }
    std::map<std::string, std::vector<std::vector<std::vector<double>>>> head_probs;  // head -> seed -> probs
    for (int s = 0; s < o_.seeds; ++s) {
      cfg.seed = o_.base.seed + static_cast<uint64_t>(s);
      std::string run_rel = join_path(rel_dir, "seed" + std::to_string(s + 1));
      std::cerr << "[experiment] " << label << ": " << model << " inputs " << inputs << ", seed " << cfg.seed
                << " (" << (s + 1) << "/" << o_.seeds << ") -> " << run_rel << "\n";
      TrainResult r = run_training(data_, cfg, join_path(o_.out_dir, run_rel), split);
      ++trainings;
      train_seconds += r.seconds;
      extract_seconds += r.extract_seconds;
      out.seconds += r.seconds;
      out.extract_seconds += r.extract_seconds;
      out.run_dirs.push_back(run_rel);
      for (const auto& [name, hp] : r.test) {
        auto it = out.heads.find(name);
        if (it == out.heads.end()) {
          out.heads[name] = hp;
        } else if (it->second.case_ids != hp.case_ids) {
          throw std::runtime_error("experiment: seeds predicted different test cases for head " + name);
        }
        head_probs[name].push_back(hp.probs);
      }
      // Management of this seed.
      std::vector<std::string> ids;
      std::vector<int> labels;
      std::vector<std::vector<double>> probs;
      management_of(model, r.test, priors, ids, labels, probs);
      out.seed_metrics.push_back(to_json(compute_metrics(labels, probs, mgmt_.classes, {exc_, {}})));
      std::vector<std::string> valid_ids;
      std::vector<int> valid_labels;
      std::vector<std::vector<double>> valid_probs;
      management_of(model, r.valid, priors, valid_ids, valid_labels, valid_probs);
      if (s == 0) {
        out.case_ids = ids;
        out.labels = labels;
        out.probs = probs;
        out.valid_labels = valid_labels;
        out.valid_probs = valid_probs;
      } else {
        add_to(out.probs, probs);
        add_to(out.valid_probs, valid_probs);
      }
    }
    for (auto* all : {&out.probs, &out.valid_probs})
      for (auto& row : *all)
        for (double& p : row) p /= o_.seeds;
    for (auto& [name, hp] : out.heads) {
      const auto& per_seed = head_probs[name];
      for (size_t i = 0; i < hp.probs.size(); ++i)
        for (size_t k = 0; k < hp.probs[i].size(); ++k) {
          double sum = 0;
          for (const auto& sp : per_seed) sum += sp[i][k];
          hp.probs[i][k] = sum / static_cast<double>(per_seed.size());
        }
    }
    // The model's management predictions (ensemble, or inferred for MGMT_infr) beside its seed runs.
    Predictions p;
    p.classes = mgmt_.classes;
    p.cases = out.case_ids;
    p.labels = out.labels;
    p.probs = out.probs;
    write_predictions_csv(join_path(join_path(o_.out_dir, rel_dir), "predictions_test.csv"), p);
    return out;
  }

  // Metrics object M of results.json for management predictions.
  json score(const ModelOutcome& m, bool with_ci, bool with_heads) const {
    json j = to_json(compute_metrics(m.labels, m.probs, m.classes, {exc_, {}}));
    if (with_ci && o_.bootstrap > 0) {
      BootstrapOptions bo;
      bo.resamples = o_.bootstrap;
      auto cis = bootstrap_metrics(m.labels, m.probs, m.classes, exc_, {}, bo);
      for (const auto& [name, ci] : cis) j["ci"][name] = {ci.lower, ci.upper};
    }
    if (with_heads) {
      json heads = json::object();
      for (const auto& [name, hp] : m.heads) {
        if (name == kMgmt) continue;
        std::vector<int> labels;
        std::vector<std::vector<double>> probs;
        for (size_t i = 0; i < hp.labels.size(); ++i) {
          if (hp.labels[i] < 0) continue;
          labels.push_back(hp.labels[i]);
          probs.push_back(hp.probs[i]);
        }
        if (labels.empty()) continue;
        heads[name] = to_json(compute_metrics(labels, probs, hp.head.classes));
      }
      j["heads"] = heads;
    }
    if (m.seed_metrics.size() > 1) j["seeds"] = summarize(m.seed_metrics);
    json dp = decision_policy(m);
    if (!dp.is_null()) j["decision_policy"] = dp;
    return j;
  }

  // {"policy", "operating_point"} of the experiment's policy on the test part (threshold chosen on the model's
  // validation part when a minimum excision sensitivity is set); null without an excision class.
  json decision_policy(const ModelOutcome& m) const {
    DecisionPolicy policy = o_.policy;
    if (o_.base.min_excision_sensitivity > 0) {
      if (exc_ < 0) throw InputError(data_.source + ": min_excision_sensitivity needs an EXC management class");
      policy = threshold_policy_for_sensitivity(m.valid_labels, m.valid_probs, m.classes, "EXC",
                                                o_.base.min_excision_sensitivity, "valid");
    }
    return policy_report(policy, m.labels, m.probs, m.classes);
  }

  // {"mean": {...}, "std": {...}} of `keys` over `values`. A value missing or non-numeric in any of them
  // makes that key's mean and std null: a fold or seed without a value is shown as missing, never averaged away.
  static json mean_and_std(const std::vector<json>& values, const std::vector<std::string>& keys) {
    json out = {{"mean", json::object()}, {"std", json::object()}};
    for (const auto& k : keys) {
      std::vector<double> xs;
      for (const auto& v : values)
        if (v.contains(k) && v[k].is_number()) xs.push_back(v[k].get<double>());
      if (xs.empty() || xs.size() != values.size()) {
        out["mean"][k] = nullptr;
        out["std"][k] = nullptr;
        continue;
      }
      MeanStd ms = mean_std(xs);
      out["mean"][k] = ms.mean;
      out["std"][k] = number_or_null(ms.std);
    }
    return out;
  }

  // {"count", "mean": {...}, "std": {...}, "values": [{...}]} over a list of metrics objects.
  static json summarize(const std::vector<json>& metrics) {
    std::vector<json> values;
    for (const auto& m : metrics) {
      json v = json::object();
      for (const auto& k : kSummaryKeys)
        if (m.contains(k)) v[k] = m[k];
      values.push_back(v);
    }
    json s = mean_and_std(values, kSummaryKeys);
    s["count"] = metrics.size();
    s["values"] = values;
    return s;
  }

  // {"mean": {...}, "std": {...}, "policy"} of the folds' operating points (sensitivity, specificity,
  // over_excision, over_excision_rate, accuracy, and threshold for a threshold policy; argmax has no
  // threshold, a fold without EXC cases no sensitivity); null when a fold has none.
  static json summarize_operating_points(const std::vector<json>& fold_metrics) {
    if (fold_metrics.empty()) return nullptr;
    std::vector<json> points;
    for (const auto& m : fold_metrics) {
      if (!m.contains("decision_policy")) return nullptr;
      points.push_back(m["decision_policy"]["operating_point"]);
    }
    json out = mean_and_std(
        points, {"threshold", "sensitivity", "specificity", "over_excision", "over_excision_rate", "accuracy"});
    out["policy"] = fold_metrics.front()["decision_policy"]["policy"]["kind"];
    return out;
  }

  // Paired tests of model a against model b on the same test cases.
  json paired(const std::string& a_name, const ModelOutcome& a, const std::string& b_name,
              const ModelOutcome& b) const {
    std::map<std::string, size_t> index_b;
    for (size_t i = 0; i < b.case_ids.size(); ++i) index_b[b.case_ids[i]] = i;
    std::vector<bool> ca, cb;
    std::vector<size_t> ia, ib;
    for (size_t i = 0; i < a.case_ids.size(); ++i) {
      auto it = index_b.find(a.case_ids[i]);
      if (it == index_b.end()) continue;
      ia.push_back(i);
      ib.push_back(it->second);
      ca.push_back(argmax_class(a.probs[i]) == a.labels[i]);
      cb.push_back(argmax_class(b.probs[it->second]) == b.labels[it->second]);
    }
    json j = {{"a", a_name}, {"b", b_name}, {"n", ia.size()}};
    if (ia.empty()) return j;
    McNemarResult mc = mcnemar(ca, cb);
    j["mcnemar"] = {{"a_only_correct", mc.only_a}, {"b_only_correct", mc.only_b},
                    {"both_correct", mc.both_correct}, {"both_wrong", mc.both_wrong},
                    {"p_exact", mc.p_exact}, {"p_midp", mc.p_midp}};
    json delong = json::object();
    for (size_t k = 0; k < mgmt_.classes.size(); ++k) {
      std::vector<bool> pos;
      std::vector<double> sa, sb;
      bool has_pos = false, has_neg = false;
      for (size_t t = 0; t < ia.size(); ++t) {
        bool p = a.labels[ia[t]] == static_cast<int>(k);
        (p ? has_pos : has_neg) = true;
        pos.push_back(p);
        sa.push_back(a.probs[ia[t]][k]);
        sb.push_back(b.probs[ib[t]][k]);
      }
      if (!has_pos || !has_neg) continue;  // DeLong is undefined for a class absent from the test cases
      DeLongResult d = delong_test(pos, sa, sb);
      delong[mgmt_.classes[k]] = {{"auc_a", number_or_null(d.auc_a)},
                                       {"auc_b", number_or_null(d.auc_b)},
                                       {"diff", number_or_null(d.diff)},
                                       {"z", number_or_null(d.z)},
                                       {"p", number_or_null(d.p)}};
    }
    j["delong"] = delong;
    return j;
  }

 private:
  void management_of(const std::string& model, const SplitPredictions& test, const ManagementPriors& priors,
                     std::vector<std::string>& ids, std::vector<int>& labels,
                     std::vector<std::vector<double>>& probs) const {
    ids.clear(), labels.clear(), probs.clear();
    if (model == "MGMT_infr") {
      auto it = test.find(kDiag);
      if (it == test.end()) throw std::runtime_error("experiment: the DIAG model returned no DIAG predictions");
      const HeadPredictions& d = it->second;
      auto inferred = infer_management(d.probs, priors);
      for (size_t i = 0; i < d.case_ids.size(); ++i) {
        const Case& c = data_.cases[static_cast<size_t>(position_of_.at(d.case_ids[i]))];
        auto l = c.labels.find(kMgmt);
        if (l == c.labels.end()) continue;
        ids.push_back(d.case_ids[i]);
        labels.push_back(l->second);
        probs.push_back(inferred[i]);
      }
    } else {
      auto it = test.find(kMgmt);
      if (it == test.end()) throw std::runtime_error("experiment: the model returned no MGMT predictions");
      const HeadPredictions& m = it->second;
      for (size_t i = 0; i < m.case_ids.size(); ++i) {
        if (m.labels[i] < 0) continue;
        ids.push_back(m.case_ids[i]);
        labels.push_back(m.labels[i]);
        probs.push_back(m.probs[i]);
      }
    }
    if (ids.empty()) throw InputError(data_.source + ": no test case has a management label");
  }

  const Dataset& data_;
  const ExperimentOptions& o_;
  HeadSpec mgmt_;
  int exc_ = -1;
  std::map<std::string, int> position_of_;
  std::vector<std::string> all_heads_;
};

json artifact(const ModelOutcome& m, const std::string& rel_dir) {
  return {{"predictions_test", join_path(rel_dir, "predictions_test.csv")}, {"runs", m.run_dirs}};
}

double ratio_minus_one(double improved, double base) { return base != 0 ? improved / base - 1.0 : NAN; }

}  // namespace

std::vector<std::vector<int>> stratified_folds(const std::vector<int>& positions, const std::vector<int>& labels,
                                               int k, uint64_t seed) {
  if (k < 2) throw InputError("experiment: --folds must be at least 2 (got " + std::to_string(k) + ")");
  if (positions.size() != labels.size()) throw std::invalid_argument("stratified_folds: size mismatch");
  if (positions.size() < static_cast<size_t>(k))
    throw InputError("experiment: " + std::to_string(positions.size()) + " labelled cases cannot make " +
                     std::to_string(k) + " folds");
  std::map<int, std::vector<int>> by_class;
  for (size_t i = 0; i < positions.size(); ++i) by_class[labels[i]].push_back(positions[i]);
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int>> folds(static_cast<size_t>(k));
  size_t next = 0;  // continues across classes so that fold sizes stay within one case of each other
  for (auto& [cls, members] : by_class) {
    std::sort(members.begin(), members.end());
    shuffle(members, rng);
    for (int p : members) folds[next++ % folds.size()].push_back(p);
  }
  for (auto& f : folds) std::sort(f.begin(), f.end());
  return folds;
}

SplitSpec cv_split(const Dataset& data, const std::vector<std::vector<int>>& folds, int fold, double valid_fraction,
                   uint64_t seed) {
  if (fold < 0 || fold >= static_cast<int>(folds.size())) throw std::invalid_argument("cv_split: fold out of range");
  if (!(valid_fraction > 0 && valid_fraction < 1))
    throw InputError("experiment: the validation fraction must be in (0, 1)");
  SplitSpec s;
  s.test = folds[static_cast<size_t>(fold)];
  std::map<int, std::vector<int>> by_class;
  for (size_t f = 0; f < folds.size(); ++f) {
    if (static_cast<int>(f) == fold) continue;
    for (int p : folds[f]) {
      auto it = data.cases[static_cast<size_t>(p)].labels.find(kMgmt);
      by_class[it == data.cases[static_cast<size_t>(p)].labels.end() ? -1 : it->second].push_back(p);
    }
  }
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(fold) + 1);
  for (auto& [cls, members] : by_class) {
    std::sort(members.begin(), members.end());
    shuffle(members, rng);
    size_t nv = static_cast<size_t>(std::lround(valid_fraction * static_cast<double>(members.size())));
    if (members.size() >= 2) nv = std::clamp<size_t>(nv, 1, members.size() - 1);
    for (size_t i = 0; i < members.size(); ++i) (i < nv ? s.valid : s.train).push_back(members[i]);
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.valid.begin(), s.valid.end());
  return s;
}

json run_experiment(const Dataset& data, const ExperimentOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  if (o.out_dir.empty()) throw InputError("experiment: --out is required");
  if (o.seeds < 1) throw InputError("experiment: --seeds must be at least 1");
  if (o.folds == 1 || o.folds < 0) throw InputError("experiment: --folds must be 0 (no CV) or at least 2");
  o.base.validate("experiment config");
  make_dirs(o.out_dir);
  Protocol protocol(data, o);
  const std::vector<std::string> models{"MGMT_infr", "MGMT_pred", "MGMT_multi"};

  json results;
  json config = {{"mode", o.base.mode},
                 {"inputs", "CDM"},
                 {"seeds", o.seeds},
                 {"seed", o.base.seed},
                 {"epochs", o.base.epochs},
                 {"folds", o.folds},
                 {"ablation", o.ablation},
                 {"priors", o.priors},
                 {"weights", o.base.weights},
                 {"selection_metric", o.base.resolved_selection_metric()},
                 {"bootstrap_resamples", o.bootstrap},
                 {"policy", o.base.min_excision_sensitivity > 0
                                ? json{{"kind", "threshold"}, {"class", "EXC"},
                                       {"min_sensitivity", o.base.min_excision_sensitivity}, {"chosen_on", "valid"}}
                                : policy_to_json(o.policy)},
                 {"hidden", o.base.mode == "features" && o.base.hidden == 0 ? o.features_hidden : o.base.hidden},
                 {"train", o.base.to_json()}};
  json data_summary = summarize_dataset(data);
  data_summary["source"] = data.source;
  data_summary["format"] = data.format;
  json all_counts = json::object();
  for (const auto& cls : protocol.mgmt().classes) all_counts[cls] = 0;
  for (const auto& c : data.cases) {
    auto it = c.labels.find(kMgmt);
    if (it != c.labels.end() && it->second >= 0 && it->second < static_cast<int>(protocol.mgmt().classes.size()))
      all_counts[protocol.mgmt().classes[static_cast<size_t>(it->second)]] =
          all_counts[protocol.mgmt().classes[static_cast<size_t>(it->second)]].get<long>() + 1;
  }
  data_summary["management"]["all"] = all_counts;

  // ---- official split: Tables 2, 3 and the ablation of Table 4
  SplitSpec official = SplitSpec::from_dataset(data);
  if (official.train.empty() || official.valid.empty() || official.test.empty())
    throw InputError(data.source + ": the experiment needs train, valid and test splits");
  std::map<std::string, ModelOutcome> off;
  for (const auto& model : models) {
    std::string rel = "runs/official/" + model;
    off[model] = protocol.train(model, "CDM", official, rel, "official");
    results["official"][model] = protocol.score(off[model], true, true);
    results["artifacts"]["official"][model] = artifact(off[model], rel);
  }
  if (o.ablation) {
    for (const char* in : {"C", "CM", "D", "DM", "CD"}) {
      std::string rel = std::string("runs/official/ablation_") + in;
      ModelOutcome m = protocol.train("MGMT_multi", in, official, rel, "ablation");
      results["official"]["ablation"][in] = protocol.score(m, true, false);
      results["artifacts"]["ablation"][in] = artifact(m, rel);
    }
    results["official"]["ablation"]["CDM"] = results["official"]["MGMT_multi"];
    results["official"]["ablation"]["CDM"].erase("heads");
    results["artifacts"]["ablation"]["CDM"] = results["artifacts"]["official"]["MGMT_multi"];
  }
  results["paired_tests"] = json::array({protocol.paired("MGMT_pred", off["MGMT_pred"], "MGMT_infr", off["MGMT_infr"]),
                                         protocol.paired("MGMT_multi", off["MGMT_multi"], "MGMT_pred", off["MGMT_pred"])});
  auto off_metric = [&](const std::string& model, const char* key) {
    const json& v = results["official"][model][key];
    return v.is_number() ? v.get<double>() : NAN;
  };
  for (auto [better, base] : {std::pair<const char*, const char*>{"MGMT_pred", "MGMT_infr"}, {"MGMT_multi", "MGMT_pred"}}) {
    std::string key = std::string(better) + "_over_" + base;
    for (const char* metric : {"accuracy", "auroc_macro"})
      results["relative_improvement"]["official"][key][metric] =
          number_or_null(ratio_minus_one(off_metric(better, metric), off_metric(base, metric)));
  }
  results["over_excision_reduction"] =
      results["official"]["MGMT_infr"]["over_excision"].get<long>() - results["official"]["MGMT_pred"]["over_excision"].get<long>();

  // ---- k-fold cross-validation over all management-labelled cases
  if (o.folds >= 2) {
    std::vector<int> positions, labels;
    for (size_t i = 0; i < data.cases.size(); ++i) {
      auto it = data.cases[i].labels.find(kMgmt);
      if (it == data.cases[i].labels.end()) continue;
      positions.push_back(static_cast<int>(i));
      labels.push_back(it->second);
    }
    double vf = o.cv_valid_fraction;
    if (!(vf > 0)) {
      vf = 0.25;
      double nt = static_cast<double>(official.train.size()), nv = static_cast<double>(official.valid.size());
      if (nt + nv > 0 && nv > 0) vf = nv / (nt + nv);
    }
    config["cv_valid_fraction"] = vf;
    auto folds = stratified_folds(positions, labels, o.folds, o.base.seed);
    std::map<std::string, std::vector<json>> fold_metrics;
    json fold_artifacts = json::array();
    for (int f = 0; f < o.folds; ++f) {
      SplitSpec split = cv_split(data, folds, f, vf, o.base.seed);
      json fa = {{"fold", f + 1}, {"train", split.train.size()}, {"valid", split.valid.size()},
                 {"test", split.test.size()}};
      for (const auto& model : models) {
        std::string rel = "runs/cv/fold" + std::to_string(f + 1) + "/" + model;
        ModelOutcome m = protocol.train(model, "CDM", split, rel, "cv fold " + std::to_string(f + 1));
        json s = protocol.score(m, false, false);
        fold_metrics[model].push_back(s);
        fa[model] = artifact(m, rel);
      }
      fold_artifacts.push_back(fa);
    }
    for (const auto& model : models) {
      json s = Protocol::summarize(fold_metrics[model]);
      results["cv"][model] = {{"mean", s["mean"]}, {"std", s["std"]}, {"folds", s["values"]}};
      json op = Protocol::summarize_operating_points(fold_metrics[model]);
      if (!op.is_null()) results["cv"][model]["decision_policy"] = op;
    }
    for (auto [better, base] : {std::pair<const char*, const char*>{"MGMT_pred", "MGMT_infr"}, {"MGMT_multi", "MGMT_pred"}}) {
      std::string key = std::string(better) + "_over_" + base;
      for (const char* metric : {"accuracy", "auroc_macro"}) {
        std::vector<double> ratios;
        for (int f = 0; f < o.folds; ++f) {
          const json& a = fold_metrics[better][static_cast<size_t>(f)][metric];
          const json& b = fold_metrics[base][static_cast<size_t>(f)][metric];
          if (a.is_number() && b.is_number() && b.get<double>() != 0)
            ratios.push_back(a.get<double>() / b.get<double>() - 1.0);
        }
        json entry = {{"mean", nullptr}, {"std", nullptr}, {"folds", ratios}};
        if (ratios.size() == static_cast<size_t>(o.folds)) {
          MeanStd ms = mean_std(ratios);
          entry["mean"] = ms.mean;
          entry["std"] = number_or_null(ms.std);
        }
        results["relative_improvement"]["cv"][key][metric] = entry;
      }
    }
    results["artifacts"]["cv"] = fold_artifacts;
  }

  results["config"] = config;
  results["data"] = data_summary;
  results["paper"] = report::paper_reference();
  results["timing"] = {{"total_seconds", seconds_since(t0)},
                       {"train_seconds", protocol.train_seconds},
                       {"extract_seconds", protocol.extract_seconds},
                       {"trainings", protocol.trainings}};
  write_file_atomic(join_path(o.out_dir, "results.json"), results.dump(2));
  report::write_results_md(o.out_dir, results);
  if (o.report) report::write_report(o.out_dir);
  std::cerr << "[experiment] done in " << seconds_since(t0) << " s (" << protocol.trainings << " trainings): "
            << join_path(o.out_dir, "results.json") << "\n";
  return results;
}

}  // namespace skintriage
