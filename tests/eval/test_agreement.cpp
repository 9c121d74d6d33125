// Rater-panel agreement on synthetic ratings with known agreement, and the ratings CSV reader.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/agreement.h"
#include "test_util.h"

using namespace skintriage;

namespace {
std::string error_of(const std::string& csv) {
  return testutil::input_error_of([&] { parse_ratings_csv(csv, "ratings.csv"); });
}
}  // namespace

TEST(Agreement, KnownAgreement) {
  // 8 images. r1 and r2 identical (kappa 1); r3 the exact opposite of r1 (kappa -1).
  // Model identical to r1. Truth = r1.
  RatingsTable t;
  std::vector<int> r1 = {1, 1, 1, 1, 0, 0, 0, 0};
  for (size_t i = 0; i < r1.size(); ++i) {
    t.images.push_back("i" + std::to_string(i));
    t.ratings.push_back({r1[i], r1[i], 1 - r1[i]});
  }
  t.raters = {"r1", "r2", "r3"};
  t.truth = r1;
  auto res = compute_agreement(t, r1);
  EXPECT_DOUBLE_EQ(res.rater_kappa[0][1], 1.0);
  EXPECT_DOUBLE_EQ(res.rater_kappa[0][2], -1.0);
  EXPECT_DOUBLE_EQ(res.rater_kappa[1][2], -1.0);
  EXPECT_EQ(res.rater_pairs.n, 3);
  EXPECT_DOUBLE_EQ(res.rater_pairs.mean, -1.0 / 3);
  EXPECT_DOUBLE_EQ(res.rater_pairs.median, -1.0);
  EXPECT_DOUBLE_EQ(res.rater_mean_kappa[0], 0.0);
  EXPECT_DOUBLE_EQ(res.rater_mean_kappa[2], -1.0);
  EXPECT_DOUBLE_EQ(res.model_mean_kappa, 1.0 / 3);
  // Model (1/3) beats all three raters' means (0, 0, -1).
  EXPECT_DOUBLE_EQ(res.model_percentile, 100.0);
  EXPECT_DOUBLE_EQ(res.model_truth.sensitivity, 1.0);
  EXPECT_DOUBLE_EQ(res.model_truth.specificity, 1.0);
  EXPECT_DOUBLE_EQ(res.rater_truth[2].sensitivity, 0.0);
  auto j = agreement_report(t, r1);
  EXPECT_DOUBLE_EQ(j["model"]["percentile_among_raters"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(j["per_rater"]["r3"]["kappa_with_model"].get<double>(), -1.0);
  EXPECT_DOUBLE_EQ(j["rater_pairs_kappa"]["iqr"].get<double>(), 1.0);  // q1 -1, q3 0
  EXPECT_TRUE(j.contains("raters_vs_truth"));

  // A model that always says 1 has kappa 0 with everyone (no agreement beyond chance).
  auto always = compute_agreement(t, std::vector<int>(8, 1));
  for (double k : always.model_kappa) EXPECT_DOUBLE_EQ(k, 0.0);
  EXPECT_DOUBLE_EQ(always.model_percentile, 100.0 * 2 / 3);  // above r3 (-1), ties r1 and r2 (0) count half
}

TEST(Agreement, RatersOnlyAndBadDecisions) {
  RatingsTable t;
  t.images = {"a", "b"};
  t.raters = {"x", "y"};
  t.ratings = {{1, 1}, {0, 1}};
  auto j = agreement_report(t);
  EXPECT_TRUE(j["model"].is_null());
  EXPECT_FALSE(j.contains("raters_vs_truth"));
  EXPECT_THROW(compute_agreement(t, {1}), InputError);
  EXPECT_THROW(compute_agreement(t, {1, 2}), InputError);
}

TEST(RatingsCsv, ReadsAndNamesErrors) {
  auto t = parse_ratings_csv("image,truth,derm1,derm2,derm3\nim1.jpg,1,1,1,0\nim2.jpg,0,0,1,0\n", "r.csv");
  EXPECT_EQ(t.raters, (std::vector<std::string>{"derm1", "derm2", "derm3"}));
  EXPECT_EQ(t.truth, (std::vector<int>{1, 0}));
  EXPECT_EQ(t.ratings[1], (std::vector<int>{0, 1, 0}));
  auto no_truth = parse_ratings_csv("image,a,b\nx,1,0\n", "r.csv");
  EXPECT_TRUE(no_truth.truth.empty());

  EXPECT_NE(error_of("img,a,b\nx,1,0\n").find("missing column 'image'"), std::string::npos);
  EXPECT_NE(error_of("image,a\nx,1\n").find("at least 2 rater"), std::string::npos);
  std::string bad = error_of("image,a,b\nx,1,0\ny,1,yes\n");
  EXPECT_NE(bad.find("ratings.csv:3"), std::string::npos) << bad;
  EXPECT_NE(bad.find("column 'b'"), std::string::npos) << bad;
  EXPECT_NE(error_of("image,a,b\nx,1,0\nx,1,1\n").find("duplicate image"), std::string::npos);
  EXPECT_NE(error_of("image,truth,a,b\nx,2,1,0\n").find("column 'truth'"), std::string::npos);
  EXPECT_NE(error_of("image,a,b\n").find("no rating rows"), std::string::npos);
}

TEST(Summary, IgnoresNaNAndHandlesEmpty) {
  auto s = summarize({1, NAN, 3});
  EXPECT_EQ(s.n, 2);
  EXPECT_DOUBLE_EQ(s.median, 2.0);
  auto e = summarize({});
  EXPECT_EQ(e.n, 0);
  EXPECT_TRUE(std::isnan(e.mean));
}
