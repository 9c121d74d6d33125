#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "core/error.h"
#include "core/files.h"
#include "report/fake_experiment.h"
#include "report/format.h"
#include "report/html_report.h"
#include "report/paper.h"
#include "report/results_md.h"
#include "report/svg.h"
#include "report/tables.h"
#include "test_util.h"

using namespace skintriage;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

std::string make_experiment(const std::string& tag, const testutil::FakeExperimentOptions& o = {}) {
  std::string dir = testutil::temp_dir(tag);
  testutil::write_fake_experiment(dir, o);
  return dir;
}

}  // namespace

TEST(Report, RocPointsHandWorked) {
  std::vector<double> fpr, tpr;
  // Scores 0.9(+) 0.8(-) 0.7(+) 0.1(-): (0,0) (0,.5) (.5,.5) (.5,1) (1,1).
  report::roc_points({true, false, true, false}, {0.9, 0.8, 0.7, 0.1}, fpr, tpr);
  ASSERT_EQ(fpr.size(), 5u);
  std::vector<double> ef{0, 0, 0.5, 0.5, 1}, et{0, 0.5, 0.5, 1, 1};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_DOUBLE_EQ(fpr[i], ef[i]) << i;
    EXPECT_DOUBLE_EQ(tpr[i], et[i]) << i;
  }
  // Tied scores make one diagonal step; a single class gives no curve.
  report::roc_points({true, false, true}, {0.5, 0.5, 0.2}, fpr, tpr);
  ASSERT_EQ(fpr.size(), 3u);
  EXPECT_DOUBLE_EQ(fpr[1], 1.0);
  EXPECT_DOUBLE_EQ(tpr[1], 0.5);
  report::roc_points({true, true}, {0.5, 0.4}, fpr, tpr);
  EXPECT_TRUE(fpr.empty());
}

TEST(Report, FormattingHelpers) {
  EXPECT_EQ(report::fmt(0.73669), "0.7367");
  EXPECT_EQ(report::fmt(NAN), report::kDash);
  EXPECT_EQ(report::fmt_pm(0.5, 0.01234), "0.5000 \xc2\xb1 0.0123");
  EXPECT_EQ(report::fmt_percent(0.117), "+11.7%");
  json ci = {0.61, 0.702};
  EXPECT_EQ(report::fmt_ci(&ci), "[0.610, 0.702]");
  EXPECT_EQ(report::fmt_ci(nullptr), "");
  EXPECT_EQ(report::html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

TEST(Report, ResultsMarkdownHasThePaperTables) {
  std::string dir = make_experiment("md");
  json r = report::read_results(dir);
  std::string md = report::render_results_md(r);
  for (const char* s : {"Table 2: MGMT_infr vs MGMT_pred", "Table 3: MGMT_multi", "Table 4:", "Cross-validation",
                        "Per-fold results", "Paired tests", "Comparison with the published numbers",
                        "Relative improvements", "--priors all"})
    EXPECT_TRUE(contains(md, s)) << s;
  // Values come from results.json, formatted to 4 decimals, with the CI next to them.
  std::string acc = report::fmt(r["official"]["MGMT_pred"]["accuracy"].get<double>());
  std::string ci = report::fmt_ci(&r["official"]["MGMT_pred"]["ci"]["accuracy"]);
  EXPECT_TRUE(contains(md, acc + " " + ci)) << acc << " " << ci;
  std::string cv = report::fmt_pm(r["cv"]["MGMT_multi"]["mean"]["accuracy"].get<double>(),
                                  r["cv"]["MGMT_multi"]["std"]["accuracy"].get<double>());
  EXPECT_TRUE(contains(md, "| MGMT_multi | " + cv + " |")) << md;
  EXPECT_TRUE(contains(md, "| 0.6253 |"));  // paper's MGMT_infr accuracy
  EXPECT_TRUE(contains(md, "of 395"));
  // Table 2 per-class row of EXC holds 8 numbers (4 per model).
  std::regex exc_row("\\| EXC( \\| [0-9.]+){8} \\|");
  EXPECT_TRUE(std::regex_search(md, exc_row)) << md;
  report::write_results_md(dir, r);
  EXPECT_TRUE(file_exists(join_path(dir, "results.md")));
}

TEST(Report, PaperGapTableComputesDifferences) {
  json r;
  r["official"]["MGMT_pred"] = {{"accuracy", 0.7}, {"auroc_macro", 0.8}, {"over_excision", 30}, {"n", 100}};
  r["official"]["MGMT_infr"] = {{"accuracy", 0.6}, {"over_excision", 45}};
  r["paper"] = report::paper_reference();
  report::Table t = report::table_paper_gap(r);
  bool found_acc = false, found_ox = false;
  for (const auto& row : t.rows) {
    if (row[0].text == "MGMT_pred accuracy (official)") {
      found_acc = true;
      EXPECT_EQ(row[1].text, "0.7000");
      EXPECT_EQ(row[2].text, "0.6987");
      EXPECT_EQ(row[3].text, "0.0013");
    }
    if (row[0].text.find("Fewer wrong excisions") == 0) {
      found_ox = true;
      EXPECT_EQ(row[1].text, "15 of 100");
      EXPECT_EQ(row[2].text, "97 of 395");
    }
  }
  EXPECT_TRUE(found_acc && found_ox);
}

TEST(Report, HtmlIsSelfContainedAndHasEveryFigure) {
  std::string dir = make_experiment("html");
  std::string path = report::write_report(dir);
  EXPECT_EQ(path, join_path(dir, "report.html"));
  std::string html = read_text_file(path);
  // No external reference of any kind.
  for (const char* bad : {"http://", "https://", "src=", "<link", "@import", "url(", "//cdn"})
    EXPECT_FALSE(contains(html, bad)) << bad;
  for (const char* id : {"table-summary", "table2", "table3", "table-heads", "table-ablation", "table-cv",
                         "table-folds", "table-relative", "table-paired", "table-paper", "table-data", "roc-NONE",
                         "roc-CLNC", "roc-EXC", "confusion-MGMT_infr-counts", "confusion-MGMT_pred-normalised",
                         "confusion-MGMT_multi-counts", "reliability-MGMT_infr", "reliability-MGMT_multi",
                         "curve-loss-MGMT_pred", "curve-metric-MGMT_multi", "curve-loss-ablation-", "config", "toc"})
    EXPECT_TRUE(contains(html, std::string("id=\"") + id)) << id;
  // Three ROC curves (one per model) in each class chart: 9 polylines in the ROC section.
  size_t roc_start = html.find("id=\"sec-roc\""), roc_end = html.find("</section>", roc_start);
  ASSERT_NE(roc_start, std::string::npos);
  std::string roc = html.substr(roc_start, roc_end - roc_start);
  size_t lines = 0;
  for (size_t p = roc.find("<polyline"); p != std::string::npos; p = roc.find("<polyline", p + 1)) ++lines;
  EXPECT_EQ(lines, 9u);
}

TEST(Report, ConfusionMatricesShowCountsAndRowNormalisedValues) {
  std::string dir = make_experiment("cm");
  json r = report::read_results(dir);
  r["official"]["MGMT_pred"]["confusion"] = {{1, 3, 0}, {2, 2, 4}, {0, 0, 10}};
  write_file_atomic(join_path(dir, "results.json"), r.dump());
  std::string html = read_text_file(report::write_report(dir));
  size_t a = html.find("id=\"confusion-MGMT_pred-normalised\"");
  ASSERT_NE(a, std::string::npos);
  std::string table = html.substr(a, html.find("</table>", a) - a);
  // Row CLNC = 2,2,4 of 8 -> 0.25 0.25 0.50.
  EXPECT_TRUE(contains(table, ">0.25</td>")) << table;
  EXPECT_TRUE(contains(table, ">0.50</td>")) << table;
  EXPECT_TRUE(contains(table, ">1.00</td>")) << table;
  size_t c = html.find("id=\"confusion-MGMT_pred-counts\"");
  std::string counts = html.substr(c, html.find("</table>", c) - c);
  EXPECT_TRUE(contains(counts, ">10</td>")) << counts;
}

TEST(Report, SectionsMissingFromResultsAreLeftOut) {
  testutil::FakeExperimentOptions o;
  o.cv = false;
  o.ablation = false;
  std::string dir = make_experiment("partial", o);
  std::string html = read_text_file(report::write_report(dir));
  EXPECT_FALSE(contains(html, "id=\"table-cv\""));
  EXPECT_FALSE(contains(html, "id=\"table-ablation\""));
  EXPECT_TRUE(contains(html, "id=\"table2\""));
  std::string md = report::render_results_md(report::read_results(dir));
  EXPECT_FALSE(contains(md, "Cross-validation"));
}

TEST(Report, SeedsTableWhenSeveralSeeds) {
  testutil::FakeExperimentOptions o;
  o.seeds = 2;
  std::string dir = make_experiment("seeds", o);
  std::string html = read_text_file(report::write_report(dir));
  EXPECT_TRUE(contains(html, "id=\"table-seeds\""));
  EXPECT_TRUE(contains(html, "seed run 2"));
}

TEST(Report, BadInputsAreClearErrors) {
  std::string empty = testutil::temp_dir("empty");
  try {
    report::write_report(empty);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "results.json")) << e.what();
  }
  write_file_atomic(join_path(empty, "results.json"), "{not json");
  EXPECT_THROW(report::write_report(empty), InputError);
  write_file_atomic(join_path(empty, "results.json"), "[1,2]");
  EXPECT_THROW(report::write_report(empty), InputError);

  std::string dir = make_experiment("missing");
  fs::remove(join_path(dir, "runs/official/MGMT_pred/predictions_test.csv"));
  try {
    report::write_report(dir);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "MGMT_pred/predictions_test.csv")) << e.what();
  }
  EXPECT_FALSE(file_exists(join_path(dir, "report.html")));  // nothing half-written

  std::string dir2 = make_experiment("badlog");
  write_file_atomic(join_path(dir2, "runs/official/MGMT_infr/seed1/log.csv"),
                    "epoch,train_loss,valid_loss,valid_metric\n1,0.9,0.8,0.6\n2,abc,0.7,0.6\n");
  try {
    report::write_report(dir2);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "log.csv:3")) << e.what();
    EXPECT_TRUE(contains(e.what(), "train_loss")) << e.what();
  }
}

TEST(Report, CommandLineWritesReport) {
  std::string dir = make_experiment("cli");
  std::string out;
  int rc = testutil::run_command(testutil::cli_binary() + " report --run " + dir + " --markdown", out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(file_exists(join_path(dir, "report.html")));
  EXPECT_TRUE(file_exists(join_path(dir, "results.md")));
  rc = testutil::run_command(testutil::cli_binary() + " report --run " + dir + "/nope", out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "results.json")) << out;
}
