// The predictions CSV: reading, writing, errors naming file/line/column, pairing two files.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"
#include "eval/predictions_csv.h"
#include "test_util.h"

using namespace skintriage;

namespace {
std::string error_of(const std::string& csv) {
  return testutil::input_error_of([&] { parse_predictions_csv(csv, "preds.csv"); });
}
}  // namespace

TEST(PredictionsCsv, ReadsClassesInColumnOrder) {
  auto p = parse_predictions_csv("case,label,p_NONE,p_CLNC,p_EXC,extra\nc1,EXC,0.1,0.2,0.7,x\nc2,NONE,0.5,0.25,0.25,y\n",
                                 "preds.csv");
  EXPECT_EQ(p.classes, (std::vector<std::string>{"NONE", "CLNC", "EXC"}));
  EXPECT_EQ(p.cases, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(p.labels, (std::vector<int>{2, 0}));
  EXPECT_DOUBLE_EQ(p.probs[0][2], 0.7);
  EXPECT_EQ(p.lines, (std::vector<long>{2, 3}));
  auto no_case = parse_predictions_csv("label,p_B,p_A\nA,0.3,0.7\n", "x.csv");
  EXPECT_FALSE(no_case.has_cases());
  EXPECT_EQ(no_case.classes, (std::vector<std::string>{"B", "A"}));
  EXPECT_EQ(no_case.labels[0], 1);
}

TEST(PredictionsCsv, ErrorsNameFileLineAndColumn) {
  std::string e = error_of("case,label,p_NONE,p_EXC\nc1,EXC,0.1,0.9\nc2,EXC,nan,0.9\n");
  EXPECT_NE(e.find("preds.csv:3"), std::string::npos) << e;
  EXPECT_NE(e.find("column 'p_NONE'"), std::string::npos) << e;
  EXPECT_NE(e.find("not finite"), std::string::npos) << e;
  e = error_of("case,label,p_NONE,p_EXC\nc1,EXC,0.1,inf\n");
  EXPECT_NE(e.find("column 'p_EXC'"), std::string::npos) << e;
  e = error_of("label,p_NONE,p_EXC\nMEL,0.1,0.9\n");
  EXPECT_NE(e.find("unknown class 'MEL'"), std::string::npos) << e;
  EXPECT_NE(e.find("column 'label'"), std::string::npos) << e;
  EXPECT_NE(error_of("label,p_NONE,p_EXC\nEXC,abc,0.9\n").find("'abc' is not a number"), std::string::npos);
  EXPECT_NE(error_of("label,p_NONE,p_EXC\nEXC,-0.1,0.9\n").find("outside [0, 1]"), std::string::npos);
  EXPECT_NE(error_of("p_NONE,p_EXC\n0.1,0.9\n").find("missing column 'label'"), std::string::npos);
  EXPECT_NE(error_of("label,p_EXC\nEXC,0.9\n").find("at least 2 probability"), std::string::npos);
  EXPECT_NE(error_of("label,p_A,p_B\n").find("no prediction rows"), std::string::npos);
  EXPECT_NE(error_of("case,label,p_A,p_B\nx,A,1,0\nx,A,1,0\n").find("duplicate case"), std::string::npos);
  EXPECT_NE(error_of("label,p_A,p_B\nA,1\n").find("expected 3 fields"), std::string::npos);
  EXPECT_THROW(read_predictions_csv("/nonexistent/preds.csv"), InputError);
}

TEST(PredictionsCsv, WriteRoundTripsExactly) {
  Predictions p;
  p.classes = {"NONE", "CLNC", "EXC"};
  p.cases = {"a,1", "b"};
  p.labels = {2, 1};
  p.probs = {{0.1, 0.2, 0.7000000000000001}, {1.0 / 3, 1.0 / 3, 1.0 / 3}};
  std::string dir = testutil::temp_dir("preds");
  write_predictions_csv(dir + "/p.csv", p);
  auto q = read_predictions_csv(dir + "/p.csv");
  EXPECT_EQ(q.cases, p.cases);
  EXPECT_EQ(q.labels, p.labels);
  EXPECT_EQ(q.probs, p.probs);  // bit-exact
  EXPECT_EQ(q.classes, p.classes);
}

TEST(PredictionsCsv, AlignsByCaseOrByRow) {
  auto a = parse_predictions_csv("case,label,p_A,p_B\nx,A,0.9,0.1\ny,B,0.2,0.8\n", "a.csv");
  auto b = parse_predictions_csv("case,label,p_A,p_B\ny,B,0.4,0.6\nx,A,0.6,0.4\n", "b.csv");
  auto bb = align_predictions(a, b);
  EXPECT_EQ(bb.cases, a.cases);
  EXPECT_DOUBLE_EQ(bb.probs[0][0], 0.6);
  auto missing = parse_predictions_csv("case,label,p_A,p_B\ny,B,0.4,0.6\nz,A,0.6,0.4\n", "c.csv");
  EXPECT_THROW(align_predictions(a, missing), InputError);
  auto relabelled = parse_predictions_csv("case,label,p_A,p_B\ny,A,0.4,0.6\nx,A,0.6,0.4\n", "d.csv");
  EXPECT_THROW(align_predictions(a, relabelled), InputError);
  auto other_classes = parse_predictions_csv("case,label,p_B,p_A\ny,B,0.4,0.6\nx,A,0.6,0.4\n", "e.csv");
  EXPECT_THROW(align_predictions(a, other_classes), InputError);
  auto rows = parse_predictions_csv("label,p_A,p_B\nA,0.9,0.1\nB,0.2,0.8\n", "r.csv");
  EXPECT_THROW(align_predictions(a, rows), InputError);  // only one has cases
  EXPECT_EQ(align_predictions(rows, rows).labels, rows.labels);
}
