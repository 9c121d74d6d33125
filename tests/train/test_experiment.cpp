#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "data/load.h"
#include "data/synth.h"
#include "eval/metrics.h"
#include "eval/policy.h"
#include "eval/predictions_csv.h"
#include "train/experiment.h"
#include "test_util.h"

using namespace skintriage;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A synthetic derm7pt release of 192x128 JPEGs written into `dir`/release, loaded.
Dataset synthetic_release(const std::string& dir, int cases, uint64_t seed) {
  SynthOptions so;
  so.cases = cases;
  so.seed = seed;
  so.width = 192;
  so.height = 128;
  write_synthetic_release(join_path(dir, "release"), so);
  return load_dataset(join_path(dir, "release"));
}

}  // namespace

TEST(Experiment, StratifiedFoldsAreBalancedDisjointAndSeeded) {
  std::vector<int> positions, labels;
  for (int i = 0; i < 100; ++i) {
    positions.push_back(i * 2);  // positions need not be 0..n-1
    labels.push_back(i < 11 ? 0 : (i < 56 ? 1 : 2));
  }
  auto folds = stratified_folds(positions, labels, 3, 7);
  ASSERT_EQ(folds.size(), 3u);
  std::set<int> seen;
  for (const auto& f : folds) {
    EXPECT_GE(f.size(), 33u);
    EXPECT_LE(f.size(), 34u);
    std::map<int, int> per_class;
    for (int p : f) {
      EXPECT_TRUE(seen.insert(p).second) << "position in two folds: " << p;
      per_class[labels[static_cast<size_t>(p / 2)]]++;
    }
    EXPECT_NEAR(per_class[0], 11.0 / 3, 1.0);
    EXPECT_NEAR(per_class[1], 45.0 / 3, 1.0);
    EXPECT_NEAR(per_class[2], 44.0 / 3, 1.0);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(stratified_folds(positions, labels, 3, 7), folds);
  EXPECT_NE(stratified_folds(positions, labels, 3, 8), folds);
  EXPECT_THROW(stratified_folds(positions, labels, 1, 7), InputError);
}

TEST(Experiment, CvSplitCarvesValidationFromTheTrainingPart) {
  Dataset data;
  data.heads = {HeadSpec{"MGMT", {"NONE", "CLNC", "EXC"}}};
  std::vector<int> positions, labels;
  for (int i = 0; i < 90; ++i) {
    Case c;
    c.id = "c" + std::to_string(i);
    c.labels["MGMT"] = i % 3;
    data.cases.push_back(c);
    positions.push_back(i);
    labels.push_back(i % 3);
  }
  auto folds = stratified_folds(positions, labels, 3, 1);
  for (int f = 0; f < 3; ++f) {
    SplitSpec s = cv_split(data, folds, f, 0.25, 1);
    EXPECT_EQ(s.test, folds[static_cast<size_t>(f)]);
    EXPECT_EQ(s.train.size() + s.valid.size() + s.test.size(), 90u);
    std::set<int> all(s.train.begin(), s.train.end());
    for (int p : s.valid) EXPECT_TRUE(all.insert(p).second);
    for (int p : s.test) EXPECT_TRUE(all.insert(p).second);
    EXPECT_EQ(all.size(), 90u);
    // 25% of each class of the 60 training-part cases: 5 per class.
    std::map<int, int> per_class;
    for (int p : s.valid) per_class[p % 3]++;
    EXPECT_EQ(per_class[0], 5);
    EXPECT_EQ(per_class[1], 5);
    EXPECT_EQ(per_class[2], 5);
    EXPECT_EQ(cv_split(data, folds, f, 0.25, 1).valid, s.valid);
  }
  EXPECT_THROW(cv_split(data, folds, 0, 1.5, 1), InputError);
}

TEST(Experiment, CommandLineRejectsBadDataClearly) {
  std::string out;
  std::string dir = testutil::temp_dir("exp_cli");
  int rc = testutil::run_command(testutil::cli_binary() + " experiment --data " + dir + "/missing --out " + dir +
                                     "/out --no-cv",
                                 out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("missing"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir + "/out/results.json"));
}

// The whole protocol on a small synthetic release with the shared pretrained MobileNetV2 (frozen features).
TEST(Experiment, SyntheticReleaseBeatsChanceAndWritesEverything) {
  std::string weights = testutil::shared_mobilenet_weights();
  if (weights.empty()) GTEST_SKIP() << "shared MobileNetV2 weights absent";
  std::string dir = testutil::temp_dir("experiment");
  Dataset data = synthetic_release(dir, 150, 3);

  ExperimentOptions o;
  o.out_dir = join_path(dir, "out");
  o.base.mode = "features";
  o.base.weights = weights;
  o.base.epochs = 25;
  o.base.lr = 3e-3;
  o.base.feature_views = 2;
  o.base.image_size = 160;
  o.base.progress = false;
  o.bootstrap = 300;
  auto t0 = std::chrono::steady_clock::now();
  json r = run_experiment(data, o);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "experiment on 150 synthetic cases: " << seconds << " s\n";

  // Majority-class rate of the test split.
  std::map<int, int> counts;
  for (int p : data.split("test")) counts[data.cases[static_cast<size_t>(p)].labels.at("MGMT")]++;
  int majority = 0;
  for (auto& [k, n] : counts) majority = std::max(majority, n);
  double majority_rate = static_cast<double>(majority) / static_cast<double>(data.split("test").size());
  for (const char* model : {"MGMT_pred", "MGMT_multi"}) {
    const json& m = r["official"][model];
    std::cout << model << " accuracy " << m["accuracy"] << " auroc " << m["auroc_macro"] << " (majority "
              << majority_rate << ")\n";
    EXPECT_GT(m["accuracy"].get<double>(), majority_rate + 0.05) << model;
    EXPECT_GT(m["auroc_macro"].get<double>(), 0.65) << model;
  }
  std::cout << "MGMT_infr accuracy " << r["official"]["MGMT_infr"]["accuracy"] << " auroc "
            << r["official"]["MGMT_infr"]["auroc_macro"] << "\n";
  EXPECT_GT(r["official"]["MGMT_infr"]["auroc_macro"].get<double>(), 0.6);

  // Documented shape.
  for (const char* model : {"MGMT_infr", "MGMT_pred", "MGMT_multi"}) {
    const json& m = r["official"][model];
    for (const char* k : {"accuracy", "auroc_macro", "sensitivity_macro", "specificity_macro", "precision_macro",
                          "confusion", "over_excision", "heads", "ci"})
      EXPECT_TRUE(m.contains(k)) << model << " " << k;
    for (const char* c : {"NONE", "CLNC", "EXC"})
      for (const char* k : {"sensitivity", "specificity", "precision", "auroc"})
        EXPECT_TRUE(m["per_class"][c].contains(k)) << model << " " << c << " " << k;
    EXPECT_EQ(m["confusion"].size(), 3u);
    double lo = m["ci"]["accuracy"][0].get<double>(), hi = m["ci"]["accuracy"][1].get<double>();
    EXPECT_LE(lo, m["accuracy"].get<double>());
    EXPECT_GE(hi, m["accuracy"].get<double>());
    const json& s = r["cv"][model];
    EXPECT_EQ(s["folds"].size(), 3u) << model;
    EXPECT_TRUE(s["mean"]["accuracy"].is_number()) << model;
    EXPECT_TRUE(s["std"]["auroc_macro"].is_number()) << model;
    EXPECT_TRUE(fs::exists(join_path(o.out_dir, "runs/official/" + std::string(model) + "/seed1/log.csv")));
    for (int f = 1; f <= 3; ++f)
      EXPECT_TRUE(fs::exists(join_path(o.out_dir, "runs/cv/fold" + std::to_string(f) + "/" + model +
                                                      "/predictions_test.csv")));
  }
  // The default policy is argmax: its operating point repeats the metrics' over-excision, per model and in CV.
  for (const char* model : {"MGMT_infr", "MGMT_pred", "MGMT_multi"}) {
    const json& dp = r["official"][model]["decision_policy"];
    EXPECT_EQ(dp["policy"]["kind"], "argmax") << model;
    EXPECT_EQ(dp["operating_point"]["over_excision"], r["official"][model]["over_excision"]) << model;
    EXPECT_DOUBLE_EQ(dp["operating_point"]["sensitivity"].get<double>(),
                     r["official"][model]["per_class"]["EXC"]["sensitivity"].get<double>())
        << model;
    EXPECT_NEAR(r["cv"][model]["decision_policy"]["mean"]["over_excision"].get<double>(),
                r["cv"][model]["mean"]["over_excision"].get<double>(), 1e-9)
        << model;
  }
  for (const char* in : {"C", "CM", "D", "DM", "CD", "CDM"}) EXPECT_TRUE(r["official"]["ablation"].contains(in)) << in;
  EXPECT_EQ(r["official"]["ablation"]["CDM"]["accuracy"], r["official"]["MGMT_multi"]["accuracy"]);
  // MGMT_multi also reports its diagnosis and seven criteria heads.
  for (const char* h : {"DIAG", "PN", "STR", "PIG", "RS", "DaG", "BWV", "VS"}) {
    EXPECT_TRUE(r["official"]["MGMT_multi"]["heads"].contains(h)) << h;
    EXPECT_TRUE(r["official"]["MGMT_multi"]["heads"][h].contains("auroc_macro")) << h;
  }
  EXPECT_TRUE(r["official"]["MGMT_infr"]["heads"].contains("DIAG"));
  ASSERT_EQ(r["paired_tests"].size(), 2u);
  EXPECT_TRUE(r["paired_tests"][0]["mcnemar"]["p_exact"].is_number());
  EXPECT_TRUE(r["paired_tests"][0]["delong"].contains("EXC"));
  EXPECT_TRUE(r["relative_improvement"]["cv"]["MGMT_pred_over_MGMT_infr"]["accuracy"]["mean"].is_number());
  EXPECT_DOUBLE_EQ(r["paper"]["official"]["MGMT_multi"]["accuracy"].get<double>(), 0.7367);
  // The saved file is what was returned; results.md and report.html are there.
  EXPECT_EQ(json::parse(read_text_file(join_path(o.out_dir, "results.json"))), r);
  std::string md = read_text_file(join_path(o.out_dir, "results.md"));
  EXPECT_NE(md.find("Table 2"), std::string::npos);
  EXPECT_NE(md.find("Decision policy operating point"), std::string::npos);
  std::string html = read_text_file(join_path(o.out_dir, "report.html"));
  EXPECT_NE(html.find("id=\"roc-EXC\""), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  // The management predictions of the official models are in the predictions CSV format.
  std::string csv = read_text_file(join_path(o.out_dir, "runs/official/MGMT_infr/predictions_test.csv"));
  EXPECT_EQ(csv.rfind("case,label,p_NONE,p_CLNC,p_EXC", 0), 0u) << csv.substr(0, 80);
  EXPECT_TRUE(fs::exists(join_path(o.out_dir, "runs/official/MGMT_infr/priors.json")));
  if (const char* keep = std::getenv("SKINTRIAGE_EXPERIMENT_COPY")) {
    // Lets a developer keep the synthetic run (e.g. for docs/report.png).
    fs::copy(o.out_dir, keep, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
}

// Fine-tune mode runs the same protocol (official split, ablation, cross-validation): a tiny release,
// a randomly initialised MobileNetV2 at 32 px and one epoch each, so only the plumbing is exercised.
TEST(Experiment, FinetuneModeRunsTheWholeProtocol) {
  std::string dir = testutil::temp_dir("experiment_finetune");
  Dataset data = synthetic_release(dir, 45, 11);

  ExperimentOptions o;
  o.out_dir = join_path(dir, "out");
  o.base.mode = "finetune";
  o.base.epochs = 1;
  o.base.batch_size = 8;
  o.base.image_size = 32;
  o.base.progress = false;
  o.bootstrap = 0;
  json r = run_experiment(data, o);

  EXPECT_EQ(r["config"]["mode"], "finetune");
  for (const char* model : {"MGMT_infr", "MGMT_pred", "MGMT_multi"}) {
    const json& m = r["official"][model];
    EXPECT_GE(m["accuracy"].get<double>(), 0.0) << model;
    EXPECT_LE(m["accuracy"].get<double>(), 1.0) << model;
    EXPECT_EQ(r["cv"][model]["folds"].size(), 3u) << model;
    // Every training of the protocol really fine-tuned (its resolved config says so); no feature cache is involved.
    std::string run = join_path(o.out_dir, "runs/official/" + std::string(model) + "/seed1");
    EXPECT_EQ(json::parse(read_text_file(join_path(run, "config.json")))["mode"], "finetune") << model;
    EXPECT_TRUE(fs::exists(join_path(run, "log.csv"))) << model;
  }
  for (const char* in : {"C", "CM", "D", "DM", "CD", "CDM"}) EXPECT_TRUE(r["official"]["ablation"].contains(in)) << in;
  EXPECT_FALSE(fs::exists(join_path(o.out_dir, ".skintriage_cache")));
  json saved = json::parse(read_text_file(join_path(o.out_dir, "results.json")));
  EXPECT_EQ(saved, r) << json::diff(saved, r).dump().substr(0, 2000);  // also: no NaN in the returned JSON
  EXPECT_TRUE(fs::exists(join_path(o.out_dir, "report.html")));
}

// --seeds 2: two trainings per model, their mean probabilities scored as the ensemble, mean +- std of the
// per-seed metrics; and a threshold policy chosen per model on its validation part for 90% excision sensitivity.
TEST(Experiment, SeedsEnsembleAndExcisionPolicy) {
  std::string weights = testutil::shared_mobilenet_weights();
  if (weights.empty()) GTEST_SKIP() << "shared MobileNetV2 weights absent";
  std::string dir = testutil::temp_dir("experiment_seeds");
  Dataset data = synthetic_release(dir, 100, 5);

  ExperimentOptions o;
  o.out_dir = join_path(dir, "out");
  o.base.mode = "features";
  o.base.weights = weights;
  o.base.epochs = 8;
  o.base.lr = 3e-3;
  o.base.feature_views = 1;
  o.base.image_size = 128;
  o.base.progress = false;
  o.base.min_excision_sensitivity = 0.9;
  o.seeds = 2;
  o.folds = 0;
  o.ablation = false;
  o.bootstrap = 0;
  o.report = false;
  json r = run_experiment(data, o);
  EXPECT_FALSE(r.contains("cv"));
  EXPECT_EQ(r["config"]["seeds"], 2);
  EXPECT_EQ(r["config"]["policy"]["kind"], "threshold");

  for (const char* model : {"MGMT_infr", "MGMT_pred", "MGMT_multi"}) {
    const json& m = r["official"][model];
    std::string rel = std::string("runs/official/") + model;
    // Two seed runs with their own seeds, summarised.
    ASSERT_TRUE(m.contains("seeds")) << model;
    EXPECT_EQ(m["seeds"]["count"], 2) << model;
    ASSERT_EQ(m["seeds"]["values"].size(), 2u) << model;
    double a0 = m["seeds"]["values"][0]["auroc_macro"].get<double>();
    double a1 = m["seeds"]["values"][1]["auroc_macro"].get<double>();
    EXPECT_NEAR(m["seeds"]["mean"]["auroc_macro"].get<double>(), (a0 + a1) / 2, 1e-12) << model;
    EXPECT_NEAR(m["seeds"]["std"]["auroc_macro"].get<double>(), std::fabs(a0 - a1) / std::sqrt(2.0), 1e-12) << model;
    EXPECT_EQ(json::parse(read_text_file(join_path(o.out_dir, rel + "/seed1/config.json")))["seed"], o.base.seed);
    EXPECT_EQ(json::parse(read_text_file(join_path(o.out_dir, rel + "/seed2/config.json")))["seed"], o.base.seed + 1);
    // The model's predictions are the mean of its seeds' (MGMT_infr: inferred, so only check the others).
    Predictions ens = read_predictions_csv(join_path(o.out_dir, rel + "/predictions_test.csv"));
    EXPECT_EQ(ens.size(), data.split("test").size()) << model;
    if (std::string(model) != "MGMT_infr") {
      Predictions s1 = read_predictions_csv(join_path(o.out_dir, rel + "/seed1/predictions_test.csv"));
      Predictions s2 = read_predictions_csv(join_path(o.out_dir, rel + "/seed2/predictions_test.csv"));
      ASSERT_EQ(s1.size(), ens.size());
      bool seeds_differ = false;
      for (size_t i = 0; i < ens.size(); ++i)
        for (size_t k = 0; k < ens.probs[i].size(); ++k) {
          EXPECT_NEAR(ens.probs[i][k], (s1.probs[i][k] + s2.probs[i][k]) / 2, 1e-5) << model << " row " << i;
          seeds_differ = seeds_differ || std::fabs(s1.probs[i][k] - s2.probs[i][k]) > 1e-4;
        }
      EXPECT_TRUE(seeds_differ) << model << ": two seeds gave the same model";
      // The ensemble's policy operating point is the policy applied to the ensemble's test predictions.
      const json& dp = m["decision_policy"];
      ASSERT_EQ(dp["policy"]["kind"], "threshold") << model;
      EXPECT_EQ(dp["policy"]["chosen_on"], "valid") << model;
      DecisionPolicy p = policy_from_json(dp["policy"]);
      EXPECT_EQ(dp["operating_point"], to_json(operating_point(p, ens.labels, ens.probs, ens.classes))) << model;
      // Chosen on the seeds' mean validation probabilities to reach 90% excision sensitivity there.
      Predictions v1 = read_predictions_csv(join_path(o.out_dir, rel + "/seed1/predictions_valid.csv"));
      Predictions v2 = read_predictions_csv(join_path(o.out_dir, rel + "/seed2/predictions_valid.csv"));
      int exc = class_index(v1.classes, "EXC"), positives = 0, reached = 0;
      for (size_t i = 0; i < v1.size(); ++i) {
        if (v1.labels[i] != exc) continue;
        ++positives;
        reached += (v1.probs[i][static_cast<size_t>(exc)] + v2.probs[i][static_cast<size_t>(exc)]) / 2 >=
                   p.threshold - 1e-5;
      }
      ASSERT_GT(positives, 0);
      EXPECT_GE(static_cast<double>(reached) / positives, 0.9) << model;
    }
  }
  EXPECT_GT(r["official"]["MGMT_pred"]["auroc_macro"].get<double>(), 0.6);
  std::string md = read_text_file(join_path(o.out_dir, "results.md"));
  EXPECT_NE(md.find("chosen per model on its validation part"), std::string::npos) << md;
}
