// Management priors P(m|d) and MGMT_infr, against hand-worked examples.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"
#include "test_util.h"
#include "train/management_priors.h"

using namespace skintriage;

// DIAG {A, B, C}, MGMT {NONE, CLNC, EXC}; (diag, mgmt) pairs.
static Dataset toy(const std::vector<std::pair<int, int>>& pairs) {
  Dataset d;
  d.source = "toy";
  d.heads = {{"MGMT", {"NONE", "CLNC", "EXC"}}, {"DIAG", {"A", "B", "C"}}};
  for (size_t i = 0; i < pairs.size(); ++i) {
    Case c;
    c.id = "c" + std::to_string(i);
    if (pairs[i].first >= 0) c.labels["DIAG"] = pairs[i].first;
    if (pairs[i].second >= 0) c.labels["MGMT"] = pairs[i].second;
    d.cases.push_back(c);
  }
  return d;
}

TEST(ManagementPriors, CountsRowsAndFallsBackForUnseenDiagnosis) {
  // A: EXC, EXC, CLNC -> (0, 1/3, 2/3); B: NONE -> (1, 0, 0); C unseen -> overall (1/4, 1/4, 2/4).
  // The unlabelled case (-1) is skipped.
  Dataset d = toy({{0, 2}, {0, 2}, {0, 1}, {1, 0}, {2, -1}});
  ManagementPriors p = estimate_priors(d, {0, 1, 2, 3, 4}, "train");
  ASSERT_EQ(p.p.size(), 3u);
  EXPECT_NEAR(p.p[0][0], 0.0, 1e-12);
  EXPECT_NEAR(p.p[0][1], 1.0 / 3, 1e-12);
  EXPECT_NEAR(p.p[0][2], 2.0 / 3, 1e-12);
  EXPECT_NEAR(p.p[1][0], 1.0, 1e-12);
  EXPECT_NEAR(p.p[2][0], 0.25, 1e-12);
  EXPECT_NEAR(p.p[2][2], 0.5, 1e-12);
  EXPECT_EQ(p.counts[0][2], 2);
  EXPECT_EQ(p.source, "train");
}

TEST(ManagementPriors, TrainVersusAll) {
  Dataset d = toy({{0, 2}, {0, 1}, {1, 0}, {0, 0}});
  ManagementPriors tr = resolve_priors("train", d, {0, 1});
  ManagementPriors all = resolve_priors("all", d, {0, 1});
  EXPECT_NEAR(tr.p[0][2], 0.5, 1e-12);
  EXPECT_NEAR(all.p[0][2], 1.0 / 3, 1e-12);
  EXPECT_EQ(all.source, "all");
}

TEST(ManagementPriors, InferenceIsTheMixture) {
  ManagementPriors p;
  p.diag_classes = {"A", "B"};
  p.mgmt_classes = {"NONE", "CLNC", "EXC"};
  p.p = {{0.0, 0.25, 0.75}, {0.5, 0.5, 0.0}};
  auto m = infer_management({{0.2, 0.8}, {1.0, 0.0}}, p);
  // 0.2*(0,.25,.75) + 0.8*(.5,.5,0) = (0.4, 0.45, 0.15)
  EXPECT_NEAR(m[0][0], 0.4, 1e-12);
  EXPECT_NEAR(m[0][1], 0.45, 1e-12);
  EXPECT_NEAR(m[0][2], 0.15, 1e-12);
  EXPECT_EQ(argmax_class(m[0]), 1);
  EXPECT_EQ(argmax_class(m[1]), 2);
  EXPECT_THROW(infer_management({{0.5, 0.25, 0.25}}, p), InputError);
}

TEST(ManagementPriors, FilesJsonAndCsv) {
  std::string dir = testutil::temp_dir("priors");
  HeadSpec diag{"DIAG", {"A", "B"}}, mgmt{"MGMT", {"NONE", "CLNC", "EXC"}};
  std::string csv = join_path(dir, "p.csv");
  write_file_atomic(csv, "diagnosis,NONE,CLNC,EXC\nA,0,1,3\nB,2,2,0\n");
  ManagementPriors p = load_priors(csv, &diag, &mgmt);
  EXPECT_NEAR(p.p[0][2], 0.75, 1e-12);
  EXPECT_NEAR(p.p[1][0], 0.5, 1e-12);
  std::string js = join_path(dir, "p.json");
  write_file_atomic(js, p.to_json().dump());
  ManagementPriors q = load_priors(js, &diag, &mgmt);
  EXPECT_EQ(q.p, p.p);

  HeadSpec other{"DIAG", {"A", "C"}};
  EXPECT_THROW(load_priors(csv, &other, &mgmt), InputError);
  std::string bad = join_path(dir, "bad.csv");
  write_file_atomic(bad, "diagnosis,NONE,CLNC,EXC\nA,0,x,3\n");
  try {
    load_priors(bad, &diag, &mgmt);
    FAIL();
  } catch (const InputError& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("bad.csv"), std::string::npos) << w;
    EXPECT_NE(w.find("CLNC"), std::string::npos) << w;
  }
  std::string badjson = join_path(dir, "bad.json");
  write_file_atomic(badjson, R"({"diag_classes":["A","B"],"mgmt_classes":["NONE","CLNC","EXC"],"p":[[0.5,0.5,0.5],[1,0,0]]})");
  EXPECT_THROW(load_priors(badjson, &diag, &mgmt), InputError);
}

TEST(ManagementPriors, NeedsBothHeads) {
  Dataset d = toy({{0, 1}});
  d.heads.pop_back();
  EXPECT_THROW(estimate_priors(d, {0}, "train"), InputError);
  Dataset e = toy({{0, -1}});
  EXPECT_THROW(estimate_priors(e, {0}, "train"), InputError);
}
