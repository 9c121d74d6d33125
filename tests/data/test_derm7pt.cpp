// The derm7pt release loader: a clean release, the case-insensitive fallback, missing clinical
// photos, and every error kind (each collected in one pass), on small synthetic releases edited
// to contain them.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/derm7pt.h"
#include "data/derm7pt_vocab.h"
#include "data/load.h"
#include "release_fixture.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace skintriage;
using namespace skintriage::testdata;

namespace {

std::vector<std::string> load_errors(const std::string& dir, const DataOptions& o = {}) {
  std::vector<std::string> errors;
  load_derm7pt(dir, o, &errors);
  return errors;
}

void write_text(const std::string& path, const std::string& text) { write_file_atomic(path, text); }

}  // namespace

TEST(Derm7pt, LoadsCleanRelease) {
  std::string dir = make_release("d7_clean", 24);
  Dataset d = load_derm7pt(dir);
  EXPECT_EQ(d.format, "derm7pt");
  EXPECT_EQ(d.crop_border, 25);
  ASSERT_EQ(d.cases.size(), 24u);
  ASSERT_EQ(d.heads.size(), 9u);
  std::set<int> seen;
  size_t total = 0;
  for (const auto& name : {"train", "valid", "test"}) {
    for (int p : d.split(name)) seen.insert(p);
    total += d.split(name).size();
  }
  EXPECT_EQ(total, 24u);
  EXPECT_EQ(seen.size(), 24u);
  auto meta = read_meta(dir);
  for (size_t i = 0; i < d.cases.size(); ++i) {
    const Case& c = d.cases[i];
    const auto& row = meta[i + 1];
    EXPECT_EQ(c.row, static_cast<int>(i));
    EXPECT_EQ(c.id, row[static_cast<size_t>(meta_col("case_num"))]);
    for (const auto& v : label_vocabs())
      EXPECT_EQ(c.labels.at(v.head), v.index_of(row[static_cast<size_t>(meta_col(v.column))])) << v.column << " row " << i;
    EXPECT_EQ(c.raw.at("diagnosis"), row[static_cast<size_t>(meta_col("diagnosis"))]);
    EXPECT_EQ(c.raw.at("level_of_diagnostic_difficulty"), row[static_cast<size_t>(meta_col("level_of_diagnostic_difficulty"))]);
    EXPECT_EQ(c.raw.count("seven_point_score"), 1u);
    EXPECT_TRUE(c.has_meta);
    EXPECT_EQ(c.meta, meta_one_hot(row[static_cast<size_t>(meta_col("sex"))], row[static_cast<size_t>(meta_col("location"))],
                                   row[static_cast<size_t>(meta_col("elevation"))]));
    EXPECT_TRUE(file_exists(c.derm_path)) << c.derm_path;
    bool same = row[static_cast<size_t>(meta_col("clinic"))] == row[static_cast<size_t>(meta_col("derm"))];
    EXPECT_EQ(c.clinic_path.empty(), same);
  }
  DataOptions o;
  o.crop_border = 10;
  EXPECT_EQ(load_derm7pt(dir, o).crop_border, 10);
  EXPECT_EQ(load_dataset(dir).cases.size(), 24u);
}

TEST(Derm7pt, ClinicEqualToDermMeansMissingClinical) {
  std::string dir = make_release("d7_missing_clinic", 12);
  auto meta = read_meta(dir);
  int before = load_derm7pt(dir).missing_clinical();
  size_t row = 0;
  for (size_t r = 1; r < meta.size(); ++r)
    if (meta[r][static_cast<size_t>(meta_col("clinic"))] != meta[r][static_cast<size_t>(meta_col("derm"))]) {
      row = r;
      break;
    }
  ASSERT_GT(row, 0u);
  meta[row][static_cast<size_t>(meta_col("clinic"))] = meta[row][static_cast<size_t>(meta_col("derm"))];
  write_meta(dir, meta);
  Dataset d = load_derm7pt(dir);
  EXPECT_EQ(d.missing_clinical(), before + 1);
  EXPECT_EQ(d.cases[row - 1].clinic_path, "");
  EXPECT_FALSE(d.cases[row - 1].derm_path.empty());
}

TEST(Derm7pt, CaseInsensitivePathFallback) {
  std::string dir = make_release("d7_case", 8);
  auto meta = read_meta(dir);
  std::string rel = meta[1][static_cast<size_t>(meta_col("derm"))];
  std::string exact = resolve_case_insensitive(dir + "/images", rel);
  ASSERT_FALSE(exact.empty());
  // Rename the file to an all-uppercase name and the images folder to IMAGES: meta.csv still resolves.
  fs::path p(exact);
  std::string upper = p.filename().string();
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  fs::rename(p, p.parent_path() / upper);
  fs::rename(dir + "/images", dir + "/IMAGES");
  std::vector<std::string> errors;
  Dataset d = load_derm7pt(dir, {}, &errors);
  EXPECT_TRUE(errors.empty()) << joined(errors);
  EXPECT_NE(d.cases[0].derm_path.find(upper), std::string::npos) << d.cases[0].derm_path;
  EXPECT_TRUE(file_exists(d.cases[0].derm_path));
}

TEST(Derm7pt, WrongFieldCountNamesFileAndLine) {
  std::string dir = make_release("d7_fields", 10);
  std::string path = dir + "/meta/meta.csv";
  auto lines = split(read_text_file(path), '\n');
  lines[3] += ",extra";                       // row 2 (line 4): 20 fields
  lines[6] = lines[6].substr(0, lines[6].rfind(','));  // row 5 (line 7): 18 fields
  std::string text;
  for (size_t i = 0; i + 1 < lines.size(); ++i) text += lines[i] + "\n";
  write_text(path, text);
  auto errors = load_errors(dir);
  EXPECT_EQ(count_matching(errors, {"meta.csv:4", "expected 19 fields, found 20"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"meta.csv:7", "expected 19 fields, found 18"}), 1) << joined(errors);
  EXPECT_EQ(errors.size(), 2u) << joined(errors);
}

TEST(Derm7pt, UnknownLabelsNameFileRowColumnAndValue) {
  std::string dir = make_release("d7_labels", 16);
  auto meta = read_meta(dir);
  std::vector<std::string> columns = {"diagnosis", "pigment_network", "streaks", "pigmentation",
                                      "regression_structures", "dots_and_globules", "blue_whitish_veil",
                                      "vascular_structures", "management", "level_of_diagnostic_difficulty",
                                      "sex", "location", "elevation"};
  for (size_t k = 0; k < columns.size(); ++k) meta[k + 1][static_cast<size_t>(meta_col(columns[k]))] = "bogus " + columns[k];
  write_meta(dir, meta);
  auto errors = load_errors(dir);
  for (size_t k = 0; k < columns.size(); ++k) {
    std::string line = "meta.csv:" + std::to_string(k + 2) + ":";
    EXPECT_EQ(count_matching(errors, {line, "row " + std::to_string(k), "column '" + columns[k] + "'",
                                      "'bogus " + columns[k] + "'"}),
              1)
        << columns[k] << "\n"
        << joined(errors);
  }
  EXPECT_EQ(errors.size(), columns.size()) << joined(errors);
}

TEST(Derm7pt, SevenPointScoreMismatch) {
  std::string dir = make_release("d7_score", 10);
  auto meta = read_meta(dir);
  auto& score = meta[3][static_cast<size_t>(meta_col("seven_point_score"))];
  score = std::to_string((std::stoi(score) + 1) % 11);
  meta[5][static_cast<size_t>(meta_col("seven_point_score"))] = "three";
  meta[6][static_cast<size_t>(meta_col("seven_point_score"))] = "11";
  write_meta(dir, meta);
  auto errors = load_errors(dir);
  EXPECT_EQ(count_matching(errors, {"meta.csv:4", "row 2", "seven_point_score", "does not match"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"meta.csv:6", "row 4", "seven_point_score", "'three'"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"meta.csv:7", "row 5", "seven_point_score", "'11'"}), 1) << joined(errors);
  EXPECT_EQ(errors.size(), 3u) << joined(errors);
}

TEST(Derm7pt, IndexOutOfRangeDuplicatedAndUncovered) {
  std::string dir = make_release("d7_index", 20);
  CsvTable train = read_csv(dir + "/meta/train_indexes.csv");
  CsvTable valid = read_csv(dir + "/meta/valid_indexes.csv");
  CsvTable test = read_csv(dir + "/meta/test_indexes.csv");
  ASSERT_GE(valid.rows.size(), 2u);
  std::string dup = test.rows[0].fields[0];
  std::string dropped = valid.rows.back().fields[0];
  std::string text = "indexes\n";
  for (auto& r : train.rows) text += r.fields[0] + "\n";
  text += "20\n-1\n" + dup + "\n";
  write_text(dir + "/meta/train_indexes.csv", text);
  text = "indexes\n";
  for (size_t i = 0; i + 1 < valid.rows.size(); ++i) text += valid.rows[i].fields[0] + "\n";
  write_text(dir + "/meta/valid_indexes.csv", text);
  auto errors = load_errors(dir);
  EXPECT_EQ(count_matching(errors, {"train_indexes.csv", "index 20 out of range"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"train_indexes.csv", "index -1 out of range"}), 1) << joined(errors);
  // The train file is read first, so the test file's copy is the duplicate.
  EXPECT_EQ(count_matching(errors, {"test_indexes.csv", "index " + dup + " duplicated", "train_indexes.csv"}), 1)
      << joined(errors);
  EXPECT_EQ(count_matching(errors, {"1 row(s) in no split index file: " + dropped}), 1) << joined(errors);
  EXPECT_EQ(errors.size(), 4u) << joined(errors);
}

TEST(Derm7pt, EveryMissingImageIsListed) {
  std::string dir = make_release("d7_images", 12);
  auto meta = read_meta(dir);
  std::vector<std::string> removed;
  for (size_t r : {1u, 4u, 9u}) {
    std::string rel = meta[r][static_cast<size_t>(meta_col("derm"))];
    fs::remove(resolve_case_insensitive(dir + "/images", rel));
    removed.push_back(rel);
  }
  auto errors = load_errors(dir);
  EXPECT_EQ(errors.size(), 3u) << joined(errors);
  for (const auto& rel : removed) EXPECT_EQ(count_matching(errors, {"image file not found", rel, "column 'derm'"}), 1) << joined(errors);
  try {
    load_derm7pt(dir);
    FAIL() << "expected InputErrors";
  } catch (const InputErrors& e) {
    EXPECT_EQ(e.messages().size(), 3u);
  }
}

TEST(Derm7pt, CorruptImagesWithVerify) {
  std::string dir = make_release("d7_corrupt", 8);
  auto meta = read_meta(dir);
  std::string a = resolve_case_insensitive(dir + "/images", meta[2][static_cast<size_t>(meta_col("derm"))]);
  std::string b = resolve_case_insensitive(dir + "/images", meta[5][static_cast<size_t>(meta_col("derm"))]);
  write_text(a, "this is not a JPEG");
  std::string bytes = read_text_file(b);
  write_text(b, bytes.substr(0, bytes.size() / 2));  // truncated JPEG
  EXPECT_TRUE(load_errors(dir).empty());            // not decoded without verify_images
  DataOptions o;
  o.verify_images = true;
  auto errors = load_errors(dir, o);
  EXPECT_EQ(errors.size(), 2u) << joined(errors);
  EXPECT_EQ(count_matching(errors, {a, "corrupt"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {b, "corrupt"}), 1) << joined(errors);
}

TEST(Derm7pt, AllErrorKindsInOnePass) {
  std::string dir = make_release("d7_all", 12);
  auto meta = read_meta(dir);
  meta[1][static_cast<size_t>(meta_col("management"))] = "surgery";
  meta[2][static_cast<size_t>(meta_col("seven_point_score"))] = "x";
  fs::remove(resolve_case_insensitive(dir + "/images", meta[3][static_cast<size_t>(meta_col("derm"))]));
  write_meta(dir, meta);
  write_text(dir + "/meta/test_indexes.csv", read_text_file(dir + "/meta/test_indexes.csv") + "12\n");
  try {
    load_derm7pt(dir);
    FAIL() << "expected InputErrors";
  } catch (const InputErrors& e) {
    EXPECT_EQ(e.messages().size(), 4u) << e.what();
    std::string what = e.what();
    EXPECT_NE(what.find("surgery"), std::string::npos);
    EXPECT_NE(what.find("out of range"), std::string::npos);
  }
}

TEST(Derm7pt, MissingFilesAndFolders) {
  std::string dir = testutil::temp_dir("d7_empty");
  auto errors = load_errors(dir);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("meta/meta.csv"), std::string::npos);
  EXPECT_THROW(load_dataset(dir), InputError);
  EXPECT_THROW(load_dataset(dir + "/nope"), InputError);
  EXPECT_THROW(load_dataset(dir + "/nope.csv"), InputError);
  std::string rel = make_release("d7_noindex", 6);
  fs::remove(rel + "/meta/valid_indexes.csv");
  write_text(rel + "/meta/meta.csv", "case_num,diagnosis\n1,melanoma\n");
  errors = load_errors(rel);
  EXPECT_GE(count_matching(errors, {"missing column 'seven_point_score'"}), 1) << joined(errors);
}
