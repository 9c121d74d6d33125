// Every metric and test statistic against independent implementations (scikit-learn, scipy, plain numpy)
// computed by tests/tools/eval_oracle.py in one Python process.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "eval/agreement.h"
#include "eval/calibration.h"
#include "eval/metrics.h"
#include "eval/statistics.h"
#include "test_util.h"

using namespace skintriage;
using nlohmann::json;

namespace {

constexpr double kTol = 1e-9;

class Oracle : public ::testing::Test {
 protected:
  // CTest runs every test in its own process: the oracle output is cached in the working folder, keyed by the
  // script's content, so Python runs once per build rather than once per test. A failure here is recorded and
  // reported by every test (gtest would otherwise show tests after a failed SetUpTestSuite as skipped).
  static void SetUpTestSuite() {
    try {
      const std::string script = testutil::source_dir() + "/tests/tools/eval_oracle.py";
      const std::string cached = "eval_oracle_" + hash_hex(read_text_file(script)) + ".json";
      if (!file_exists(cached)) {
        if (!testutil::python_has("numpy, scipy, sklearn")) {
          skip_reason_ = "oracle python lacks numpy/scipy/sklearn: " + testutil::python();
          return;
        }
        std::string out = testutil::temp_dir("eval_oracle") + "/oracle.json", log;
        std::string cmd = testutil::python() + " " + script + " --out " + out;
        if (testutil::run_command(cmd, log) != 0) {
          error_ = "oracle failed: " + cmd + "\n" + log;
          return;
        }
        write_file_atomic(cached, read_text_file(out));
      }
      doc_ = json::parse(read_text_file(cached));
    } catch (const std::exception& e) {
      error_ = std::string("oracle set-up failed: ") + e.what();
    }
  }
  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(error_.empty()) << error_;
    ASSERT_FALSE(doc_.is_null()) << "oracle did not run";
  }
  static json doc_;
  static std::string skip_reason_;
  static std::string error_;
};
json Oracle::doc_;
std::string Oracle::skip_reason_;
std::string Oracle::error_;

// Expected value (null = undefined = NaN) against the computed one.
void expect_value(const json& expected, double actual, const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": expected undefined (NaN), got " << actual;
  } else {
    EXPECT_NEAR(actual, expected.get<double>(), kTol) << what;
  }
}

std::vector<std::vector<double>> matrix(const json& j) { return j.get<std::vector<std::vector<double>>>(); }

}  // namespace

TEST_F(Oracle, MetricsMatchSklearnOnRandomAndAdversarialCases) {
  const json& cases = doc_["metrics"];
  ASSERT_GE(cases.size(), 25u);
  for (const auto& c : cases) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    int k = c["K"];
    std::vector<std::string> classes;
    for (int i = 0; i < k; ++i) classes.push_back("C" + std::to_string(i));
    MetricsOptions opt;
    opt.excision_class = c["excision_class"];
    if (c.contains("predictions")) opt.predictions = c["predictions"].get<std::vector<int>>();
    auto m = compute_metrics(c["labels"].get<std::vector<int>>(), matrix(c["probs"]), classes, opt);
    const json& e = c["expected"];
    expect_value(e["accuracy"], m.accuracy, "accuracy");
    expect_value(e["balanced_accuracy"], m.balanced_accuracy, "balanced_accuracy");
    expect_value(e["kappa"], m.kappa, "kappa");
    expect_value(e["kappa_quadratic"], m.kappa_quadratic, "kappa_quadratic");
    expect_value(e["brier"], m.brier, "brier");
    expect_value(e["ece"], m.ece, "ece");
    for (const char* macro :
         {"sensitivity_macro", "specificity_macro", "precision_macro", "f1_macro", "auroc_macro"})
      expect_value(e[macro], metric_by_name(m, macro), macro);
    EXPECT_EQ(json(m.confusion), e["confusion"]);
    for (int i = 0; i < k; ++i) {
      const json& pe = e["per_class"][i];
      const auto& pc = m.per_class[static_cast<size_t>(i)];
      std::string cls = "class " + std::to_string(i);
      expect_value(pe["sensitivity"], pc.sensitivity, cls + " sensitivity");
      expect_value(pe["specificity"], pc.specificity, cls + " specificity");
      expect_value(pe["precision"], pc.precision, cls + " precision");
      expect_value(pe["f1"], pc.f1, cls + " f1");
      expect_value(pe["auroc"], pc.auroc, cls + " auroc");
      expect_value(pe["brier"], pc.brier, cls + " brier (sklearn brier_score_loss)");
      EXPECT_EQ(pc.support, pe["support"].get<long>());
      EXPECT_EQ(pc.predicted, pe["predicted"].get<long>());
    }
    if (opt.excision_class >= 0) {
      EXPECT_EQ(m.over_excision, e["over_excision"].get<long>());
      expect_value(e["over_excision_rate"], m.over_excision_rate, "over_excision_rate");
    }
  }
}

TEST_F(Oracle, McNemarMatchesScipyBinomtest) {
  for (const auto& c : doc_["mcnemar"]) {
    auto r = mcnemar(c["a"].get<std::vector<bool>>(), c["b"].get<std::vector<bool>>());
    SCOPED_TRACE("only_a=" + std::to_string(r.only_a) + " only_b=" + std::to_string(r.only_b));
    EXPECT_EQ(r.only_a, c["only_a"].get<long>());
    EXPECT_EQ(r.only_b, c["only_b"].get<long>());
    EXPECT_NEAR(r.p_exact, c["p_exact"].get<double>(), kTol);
    EXPECT_NEAR(r.p_midp, c["p_midp"].get<double>(), kTol);
  }
}

TEST_F(Oracle, DeLongMatchesPairwiseStructuralComponents) {
  for (const auto& c : doc_["delong"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    auto r = delong_test(c["positive"].get<std::vector<bool>>(), c["a"].get<std::vector<double>>(),
                         c["b"].get<std::vector<double>>());
    const json& e = c["expected"];
    expect_value(e["auc_a"], r.auc_a, "auc_a");
    expect_value(e["auc_b"], r.auc_b, "auc_b");
    expect_value(e["auc_a_sklearn"], r.auc_a, "auc_a vs roc_auc_score");
    expect_value(e["auc_b_sklearn"], r.auc_b, "auc_b vs roc_auc_score");
    expect_value(e["diff"], r.diff, "diff");
    expect_value(e["var_a"], r.var_a, "var_a");
    expect_value(e["var_b"], r.var_b, "var_b");
    expect_value(e["covariance"], r.covariance, "covariance");
    expect_value(e["variance"], r.variance, "variance");
    expect_value(e["z"], r.z, "z");
    expect_value(e["p"], r.p, "p");
  }
}

TEST_F(Oracle, TemperatureMatchesScipyMinimiser) {
  const json& t = doc_["temperature"];
  auto logits = matrix(t["logits"]);
  auto labels = t["labels"].get<std::vector<int>>();
  auto fit = fit_temperature(logits, labels);
  EXPECT_NEAR(fit.temperature, t["temperature"].get<double>(), 1e-5);
  EXPECT_NEAR(fit.nll_after, t["nll_after"].get<double>(), 1e-9);
  EXPECT_NEAR(fit.nll_before, t["nll_before"].get<double>(), 1e-9);
  // The data were drawn at a known temperature: the fit recovers it.
  EXPECT_NEAR(fit.temperature, t["true_temperature"].get<double>(), 0.15);
  EXPECT_FALSE(fit.at_bound);
}

TEST_F(Oracle, AgreementMatchesSklearnKappas) {
  const json& a = doc_["agreement"];
  RatingsTable table;
  auto ratings = a["ratings"].get<std::vector<std::vector<int>>>();
  for (size_t i = 0; i < ratings.size(); ++i) table.images.push_back("img" + std::to_string(i));
  for (size_t r = 0; r < ratings[0].size(); ++r) table.raters.push_back("rater" + std::to_string(r));
  table.ratings = ratings;
  table.truth = a["truth"].get<std::vector<int>>();
  auto res = compute_agreement(table, a["model"].get<std::vector<int>>());
  auto check = [&](const json& e, const Summary& s, const std::string& what) {
    expect_value(e["mean"], s.mean, what + " mean");
    expect_value(e["median"], s.median, what + " median");
    expect_value(e["q1"], s.q1, what + " q1");
    expect_value(e["q3"], s.q3, what + " q3");
    expect_value(e["min"], s.min, what + " min");
    expect_value(e["max"], s.max, what + " max");
  };
  check(a["rater_pairs"], res.rater_pairs, "rater pairs");
  check(a["model_vs_raters"], res.model_vs_raters, "model vs raters");
  check(a["rater_sensitivity"], res.rater_sensitivity, "rater sensitivity");
  check(a["rater_specificity"], res.rater_specificity, "rater specificity");
  for (size_t r = 0; r < table.raters.size(); ++r) {
    expect_value(a["model_kappa"][r], res.model_kappa[r], "model kappa " + std::to_string(r));
    expect_value(a["rater_mean_kappa"][r], res.rater_mean_kappa[r], "rater mean kappa " + std::to_string(r));
  }
  expect_value(a["model_percentile"], res.model_percentile, "percentile");
  expect_value(a["model_sensitivity"], res.model_truth.sensitivity, "model sensitivity");
  expect_value(a["model_specificity"], res.model_truth.specificity, "model specificity");
}
