#include "report/fake_experiment.h"

#include <cmath>
#include <random>
#include <sstream>

#include "core/files.h"
#include "eval/metrics.h"
#include "eval/predictions_csv.h"
#include "report/paper.h"

namespace skintriage::testutil {

using nlohmann::json;

namespace {

const std::vector<std::string> kClasses{"NONE", "CLNC", "EXC"};

// Predictions whose probability of the true class grows with `skill`.
Predictions fake_predictions(int n, double skill, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Predictions p;
  p.classes = kClasses;
  for (int i = 0; i < n; ++i) {
    int label = i % 9 == 0 ? 0 : (i % 2 == 0 ? 1 : 2);  // about 11% NONE, like derm7pt
    std::vector<double> logit(3);
    for (int k = 0; k < 3; ++k) logit[k] = u(rng) * 2.0 + (k == label ? skill * u(rng) * 3.0 : 0.0);
    double z = 0;
    for (double& l : logit) z += (l = std::exp(l));
    for (double& l : logit) l /= z;
    p.cases.push_back("case" + std::to_string(i));
    p.labels.push_back(label);
    p.probs.push_back(logit);
  }
  return p;
}

json metrics_json(const Predictions& p) {
  json m = to_json(compute_metrics(p.labels, p.probs, p.classes, {class_index(p.classes, "EXC"), {}}));
  for (const char* k : {"accuracy", "auroc_macro", "sensitivity_macro", "specificity_macro", "precision_macro"}) {
    double v = m[k].get<double>();
    m["ci"][k] = {std::max(0.0, v - 0.06), std::min(1.0, v + 0.05)};
  }
  return m;
}

void write_log(const std::string& run_dir, int epochs, double end_metric) {
  std::ostringstream s;
  s << "epoch,train_loss,valid_loss,valid_metric,lr,seconds\n";
  for (int e = 1; e <= epochs; ++e) {
    double t = static_cast<double>(e) / epochs;
    s << e << "," << 1.1 - 0.6 * t << "," << 1.15 - 0.45 * t + 0.1 * t * t << "," << 0.5 + (end_metric - 0.5) * t
      << ",0.001," << 0.5 << "\n";
  }
  write_file_atomic(join_path(run_dir, "log.csv"), s.str());
}

}  // namespace

json write_fake_experiment(const std::string& dir, const FakeExperimentOptions& o) {
  json r;
  r["config"] = {{"mode", "features"}, {"seeds", o.seeds}, {"epochs", 6}, {"priors", "train"},
                 {"folds", o.cv ? 3 : 0}, {"weights", ""}, {"selection_metric", "MGMT.auroc_macro"}};
  r["data"] = {{"source", "synthetic-release"}, {"format", "derm7pt"}, {"cases", 3 * o.cases},
               {"splits", {{"train", o.cases}, {"valid", o.cases}, {"test", o.cases}}},
               {"management", {{"all", {{"NONE", 40}, {"CLNC", 160}, {"EXC", 160}}},
                                 {"test", {{"NONE", 14}, {"CLNC", 53}, {"EXC", 53}}}}}};
  const std::vector<std::pair<std::string, double>> models{{"MGMT_infr", 0.4}, {"MGMT_pred", 0.8},
                                                           {"MGMT_multi", 1.0}};
  uint32_t seed = 7;
  for (const auto& [model, skill] : models) {
    Predictions p = fake_predictions(o.cases, skill, seed++);
    std::string mdir = "runs/official/" + model;
    write_predictions_csv(join_path(dir, mdir + "/predictions_test.csv"), p);
    json runs = json::array();
    for (int s = 1; s <= o.seeds; ++s) {
      std::string run = mdir + "/seed" + std::to_string(s);
      write_log(join_path(dir, run), 6, 0.6 + 0.2 * skill + 0.01 * s);
      runs.push_back(run);
    }
    r["official"][model] = metrics_json(p);
    if (o.seeds > 1) {
      r["official"][model]["seeds"] = {{"count", o.seeds},
                                       {"mean", {{"accuracy", 0.6}, {"auroc_macro", 0.7}}},
                                       {"std", {{"accuracy", 0.01}, {"auroc_macro", 0.02}}}};
    }
    r["artifacts"]["official"][model] = {{"predictions_test", mdir + "/predictions_test.csv"}, {"runs", runs}};
  }
  r["official"]["MGMT_multi"]["heads"] = {{"DIAG", {{"accuracy", 0.55}, {"auroc_macro", 0.81},
                                                     {"classes", {"BCC", "NEV", "MEL", "MISC", "SK"}}}},
                                          {"PN", {{"accuracy", 0.61}, {"auroc_macro", 0.72}}}};
  if (o.ablation) {
    double skill = 0.3;
    for (const char* in : {"C", "CM", "D", "DM", "CD", "CDM"}) {
      Predictions p = fake_predictions(o.cases, skill, seed++);
      r["official"]["ablation"][in] = metrics_json(p);
      std::string run = std::string("runs/official/ablation_") + in + "/seed1";
      write_log(join_path(dir, run), 6, 0.55 + 0.2 * skill);
      r["artifacts"]["ablation"][in] = {{"runs", {run}}};
      skill += 0.12;
    }
  }
  if (o.cv) {
    for (const auto& [model, skill] : models) {
      json folds = json::array();
      std::vector<double> acc;
      for (int f = 0; f < 3; ++f) {
        json m = metrics_json(fake_predictions(o.cases, skill, seed++));
        acc.push_back(m["accuracy"].get<double>());
        folds.push_back({{"accuracy", m["accuracy"]}, {"auroc_macro", m["auroc_macro"]}});
      }
      double mean = (acc[0] + acc[1] + acc[2]) / 3;
      double var = 0;
      for (double a : acc) var += (a - mean) * (a - mean) / 2;
      r["cv"][model] = {{"mean", {{"accuracy", mean}, {"auroc_macro", 0.75}}},
                        {"std", {{"accuracy", std::sqrt(var)}, {"auroc_macro", 0.02}}},
                        {"folds", folds}};
    }
    r["relative_improvement"]["cv"]["MGMT_pred_over_MGMT_infr"] = {
        {"accuracy", {{"mean", 0.12}, {"std", 0.03}}}, {"auroc_macro", {{"mean", 0.08}, {"std", 0.02}}}};
  }
  r["relative_improvement"]["official"]["MGMT_pred_over_MGMT_infr"] = {{"accuracy", 0.1}, {"auroc_macro", 0.05}};
  r["paired_tests"] = json::array(
      {{{"a", "MGMT_pred"}, {"b", "MGMT_infr"}, {"n", o.cases},
        {"mcnemar", {{"a_only_correct", 20}, {"b_only_correct", 7}, {"p_exact", 0.019}, {"p_midp", 0.012}}},
        {"delong", {{"NONE", {{"auc_a", 0.8}, {"auc_b", 0.7}, {"p", 0.04}}},
                    {"CLNC", {{"auc_a", 0.75}, {"auc_b", 0.7}, {"p", 0.2}}},
                    {"EXC", {{"auc_a", 0.85}, {"auc_b", 0.72}, {"p", 0.01}}}}}}});
  r["paper"] = report::paper_reference();
  write_file_atomic(join_path(dir, "results.json"), r.dump(2));
  return r;
}

}  // namespace skintriage::testutil
