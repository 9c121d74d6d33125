// The synthetic release: exact format, label dependence like the real data, determinism.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/files.h"
#include "core/strings.h"
#include "data/derm7pt.h"
#include "data/derm7pt_vocab.h"
#include "data/image.h"
#include "data/synth.h"
#include "core/error.h"
#include "release_fixture.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace skintriage;
using namespace skintriage::testdata;

TEST(Synth, RowsUseTheExactVocabularyAndConsistentScores) {
  auto rows = synth_rows(2000, 11);
  ASSERT_EQ(rows.size(), 2000u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    EXPECT_EQ(r.size(), 19u);
    for (const auto& v : label_vocabs()) EXPECT_GE(v.index_of(r.at(v.column)), 0) << v.column << "=" << r.at(v.column);
    RawCriteria rc{r.at("pigment_network"),   r.at("streaks"),           r.at("pigmentation"),
                   r.at("regression_structures"), r.at("dots_and_globules"), r.at("blue_whitish_veil"),
                   r.at("vascular_structures")};
    EXPECT_EQ(std::to_string(seven_point_score(rc)), r.at("seven_point_score"));
    EXPECT_NO_THROW(meta_one_hot(r.at("sex"), r.at("location"), r.at("elevation")));
    EXPECT_EQ(r.at("case_num"), std::to_string(i + 1));
  }
}

TEST(Synth, LabelDependenceFollowsTheRealData) {
  auto rows = synth_rows(6000, 5);
  std::map<std::string, int> mgmt, diag;
  std::map<std::string, std::map<std::string, int>> by_group;
  int nev_low = 0, nev_low_exc = 0, nev_high = 0, nev_high_exc = 0, same = 0, upper_jpg = 0, high = 0, high_exc = 0;
  for (const auto& r : rows) {
    std::string m = management_vocab().class_of(r.at("management"));
    std::string g = diagnosis_vocab().class_of(r.at("diagnosis"));
    mgmt[m]++;
    diag[g]++;
    by_group[g][m]++;
    int score = std::stoi(r.at("seven_point_score"));
    if (g == "NEV") {
      (score <= 1 ? nev_low : nev_high)++;
      if (m == "EXC") (score <= 1 ? nev_low_exc : nev_high_exc)++;
    }
    same += r.at("clinic") == r.at("derm") ? 1 : 0;
    upper_jpg += ends_with(r.at("derm"), ".JPG") ? 1 : 0;
    if (r.at("level_of_diagnostic_difficulty") == "high") {
      ++high;
      high_exc += m == "EXC" ? 1 : 0;
    }
  }
  double n = static_cast<double>(rows.size());
  EXPECT_NEAR(mgmt["NONE"] / n, 0.11, 0.03);
  EXPECT_NEAR(mgmt["CLNC"] / n, 0.40, 0.04);
  EXPECT_NEAR(mgmt["EXC"] / n, 0.49, 0.04);
  EXPECT_NEAR(diag["NEV"] / n, 0.57, 0.03);
  EXPECT_NEAR(diag["MEL"] / n, 0.25, 0.03);
  EXPECT_NEAR(diag["MISC"] / n, 0.085, 0.02);
  EXPECT_NEAR(diag["SK"] / n, 0.045, 0.015);
  EXPECT_NEAR(diag["BCC"] / n, 0.045, 0.015);
  // Melanoma and BCC always excised; MISC and SK mostly no further examination.
  EXPECT_EQ(by_group["MEL"]["EXC"], diag["MEL"]);
  EXPECT_EQ(by_group["BCC"]["EXC"], diag["BCC"]);
  EXPECT_GT(by_group["MISC"]["NONE"], 0.6 * diag["MISC"]);
  EXPECT_GT(by_group["SK"]["NONE"], 0.6 * diag["SK"]);
  // Nevi: split between excision and follow-up, excised more often with a higher score.
  EXPECT_GT(by_group["NEV"]["EXC"], 0.2 * diag["NEV"]);
  EXPECT_GT(by_group["NEV"]["CLNC"], 0.5 * diag["NEV"]);
  ASSERT_GT(nev_low, 0);
  ASSERT_GT(nev_high, 0);
  EXPECT_GT(static_cast<double>(nev_high_exc) / nev_high, static_cast<double>(nev_low_exc) / nev_low + 0.1);
  // A few cases without a clinical photo, some upper-case extensions, high difficulty almost always excised.
  EXPECT_NEAR(same / n, 0.03, 0.01);
  EXPECT_GT(upper_jpg, 0);
  EXPECT_GT(static_cast<double>(high_exc) / high, 0.95);
}

TEST(Synth, SplitsCoverEveryRowOnceInRealProportions) {
  auto splits = synth_splits(1000, 2);
  std::vector<int> seen(1000, 0);
  for (auto& [name, rows] : splits)
    for (int r : rows) seen[static_cast<size_t>(r)]++;
  for (int c : seen) EXPECT_EQ(c, 1);
  EXPECT_NEAR(splits["train"].size() / 1000.0, 0.41, 0.01);
  EXPECT_NEAR(splits["valid"].size() / 1000.0, 0.20, 0.01);
  EXPECT_NEAR(splits["test"].size() / 1000.0, 0.39, 0.01);
  EXPECT_FALSE(std::is_sorted(splits["train"].begin(), splits["train"].end()));  // unsorted like the real files
}

TEST(Synth, DeterministicForASeed) {
  EXPECT_EQ(synth_rows(200, 9), synth_rows(200, 9));
  EXPECT_NE(synth_rows(200, 9), synth_rows(200, 10));
  EXPECT_EQ(synth_splits(200, 9), synth_splits(200, 9));
  std::string a = make_release("synth_a", 6, 21), b = make_release("synth_b", 6, 21), c = make_release("synth_c", 6, 22);
  EXPECT_EQ(read_text_file(a + "/meta/meta.csv"), read_text_file(b + "/meta/meta.csv"));
  EXPECT_NE(read_text_file(a + "/meta/meta.csv"), read_text_file(c + "/meta/meta.csv"));
  size_t files = 0;
  for (auto& e : fs::recursive_directory_iterator(a + "/images")) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), a).string();
    EXPECT_EQ(read_text_file(e.path().string()), read_text_file(b + "/" + rel)) << rel;
    ++files;
  }
  EXPECT_GE(files, 11u);
}

TEST(Synth, ReleaseHasTheRealLayoutAndLoads) {
  std::string dir = make_release("synth_layout", 40, 4);
  for (const char* f : {"meta/meta.csv", "meta/train_indexes.csv", "meta/valid_indexes.csv", "meta/test_indexes.csv"})
    EXPECT_TRUE(file_exists(dir + "/" + f)) << f;
  auto meta = read_meta(dir);
  EXPECT_EQ(meta[0], derm7pt_columns());
  EXPECT_EQ(split(read_text_file(dir + "/meta/train_indexes.csv"), '\n')[0], "indexes");
  DataOptions o;
  o.verify_images = true;
  std::vector<std::string> errors;
  Dataset d = load_derm7pt(dir, o, &errors);
  EXPECT_TRUE(errors.empty()) << joined(errors);
  ASSERT_EQ(d.cases.size(), 40u);
  // Images have the requested size and the dark 25-px frame.
  cv::Mat img = load_image_rgb(d.cases[0].derm_path);
  EXPECT_EQ(img.cols, 192);
  EXPECT_EQ(img.rows, 128);
  cv::Scalar frame = cv::mean(img(cv::Rect(0, 0, img.cols, 20)));
  cv::Scalar inside = cv::mean(img(cv::Rect(30, 30, img.cols - 60, img.rows - 60)));
  EXPECT_LT(frame[0], 40);
  EXPECT_GT(inside[0], 80);
}

TEST(Synth, RejectsBadOptions) {
  std::string dir = testutil::temp_dir("synth_bad");
  SynthOptions o;
  o.cases = 0;
  EXPECT_THROW(write_synthetic_release(dir, o), InputError);
  o.cases = 2;
  o.width = 10;
  EXPECT_THROW(write_synthetic_release(dir, o), InputError);
}
