// `skintriage metrics` end to end: tables, --json, --compare with paired tests, errors with exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "core/files.h"
#include "eval/predictions_csv.h"
#include "eval/statistics.h"
#include "test_util.h"

using namespace skintriage;

namespace {

// Two models on the same 120 cases: B is clearly better than A.
void write_pair(const std::string& dir) {
  std::mt19937_64 rng(5);
  Predictions a, b;
  a.classes = b.classes = {"NONE", "CLNC", "EXC"};
  for (int i = 0; i < 120; ++i) {
    int y = static_cast<int>(uniform_below(rng, 3));
    a.cases.push_back("case" + std::to_string(i));
    a.labels.push_back(y);
    for (Predictions* p : {&a, &b}) {
      double boost = p == &a ? 150.0 : 1500.0;
      std::vector<double> row(3);
      double s = 0;
      for (int c = 0; c < 3; ++c) {
        row[static_cast<size_t>(c)] = static_cast<double>(uniform_below(rng, 1000) + 1) + (c == y ? boost : 0.0);
        s += row[static_cast<size_t>(c)];
      }
      for (double& v : row) v /= s;
      p->probs.push_back(row);
    }
  }
  // B's rows in reverse order: pairing must go by case id.
  for (int i = 119; i >= 0; --i) {
    b.cases.push_back(a.cases[static_cast<size_t>(i)]);
    b.labels.push_back(a.labels[static_cast<size_t>(i)]);
  }
  std::reverse(b.probs.begin(), b.probs.end());
  write_predictions_csv(dir + "/a.csv", a);
  write_predictions_csv(dir + "/b.csv", b);
}

}  // namespace

TEST(MetricsCli, TablesJsonAndPairedTests) {
  std::string dir = testutil::temp_dir("metrics_cli");
  write_pair(dir);
  const std::string bin = testutil::cli_binary();
  std::string out;
  ASSERT_EQ(testutil::run_command(bin + " metrics --predictions " + dir + "/a.csv --bootstrap 200", out), 0) << out;
  for (const char* s : {"accuracy", "auroc_macro", "95% CI", "confusion", "over_excision", "operating point", "EXC"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;

  ASSERT_EQ(testutil::run_command(bin + " metrics --json --bootstrap 200 --seed 3 --predictions " + dir +
                                      "/a.csv --compare " + dir + "/b.csv --out " + dir + "/m.json",
                                  out),
            0)
      << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j, nlohmann::json::parse(read_text_file(dir + "/m.json")));
  EXPECT_EQ(j["predictions"]["n"], 120);
  EXPECT_LT(j["predictions"]["metrics"]["accuracy"].get<double>(), j["compare"]["metrics"]["accuracy"].get<double>());
  const auto& ci = j["predictions"]["ci"]["accuracy"];
  EXPECT_LE(ci["lower"].get<double>(), j["predictions"]["metrics"]["accuracy"].get<double>());
  EXPECT_GE(ci["upper"].get<double>(), j["predictions"]["metrics"]["accuracy"].get<double>());
  EXPECT_GT(j["paired"]["mcnemar"]["only_b"].get<long>(), j["paired"]["mcnemar"]["only_a"].get<long>());
  EXPECT_LT(j["paired"]["mcnemar"]["p_exact"].get<double>(), 0.05);
  for (const char* c : {"NONE", "CLNC", "EXC"}) EXPECT_TRUE(j["paired"]["delong"][c].contains("p")) << c;

  // Same seed, same intervals.
  std::string again;
  ASSERT_EQ(testutil::run_command(bin + " metrics --json --bootstrap 200 --seed 3 --predictions " + dir +
                                      "/a.csv --compare " + dir + "/b.csv",
                                  again),
            0);
  EXPECT_EQ(nlohmann::json::parse(again), j);

  // A threshold policy changes the decisions and the operating point.
  write_file_atomic(dir + "/policy.json", R"({"kind": "threshold", "class": "EXC", "threshold": 0.05})");
  ASSERT_EQ(testutil::run_command(bin + " metrics --json --bootstrap 0 --policy " + dir + "/policy.json --predictions " +
                                      dir + "/a.csv",
                                  out),
            0)
      << out;
  auto p = nlohmann::json::parse(out);
  EXPECT_DOUBLE_EQ(p["predictions"]["operating_point"]["sensitivity"].get<double>(), 1.0);
  EXPECT_EQ(p["predictions"]["metrics"]["decisions"], "policy");
  EXPECT_FALSE(p["predictions"].contains("ci"));
}

TEST(MetricsCli, BadInputExitsTwoWithALocatedMessage) {
  std::string dir = testutil::temp_dir("metrics_cli_bad");
  write_file_atomic(dir + "/bad.csv", "case,label,p_NONE,p_EXC\nc1,EXC,0.2,0.8\nc2,NONE,0.5,inf\n");
  std::string out;
  EXPECT_EQ(testutil::run_command(testutil::cli_binary() + " metrics --predictions " + dir + "/bad.csv", out), 2);
  EXPECT_NE(out.find("bad.csv:3"), std::string::npos) << out;
  EXPECT_NE(out.find("p_EXC"), std::string::npos) << out;
  write_file_atomic(dir + "/other.csv", "case,label,p_NONE,p_EXC\nc1,EXC,0.2,0.8\nc9,NONE,0.5,0.5\n");
  write_file_atomic(dir + "/good.csv", "case,label,p_NONE,p_EXC\nc1,EXC,0.2,0.8\nc2,NONE,0.5,0.5\n");
  EXPECT_EQ(testutil::run_command(testutil::cli_binary() + " metrics --predictions " + dir + "/good.csv --compare " +
                                      dir + "/other.csv",
                                  out),
            2);
  EXPECT_NE(out.find("c2"), std::string::npos) << out;
  EXPECT_EQ(testutil::run_command(testutil::cli_binary() + " metrics --predictions " + dir + "/missing.csv", out), 2);
}
