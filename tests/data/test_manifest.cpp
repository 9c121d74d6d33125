// The generic CSV manifest: columns, metadata, label heads, splits (column or files) and errors.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"
#include "data/derm7pt.h"
#include "data/derm7pt_vocab.h"
#include "data/load.h"
#include "data/manifest.h"
#include "release_fixture.h"
#include "test_util.h"

using namespace skintriage;
using namespace skintriage::testdata;

namespace {

// A folder with a few small real JPEGs (taken from a synthetic release) and a manifest beside them.
struct ManifestDir {
  std::string dir;
  std::vector<std::string> images;  // relative paths under dir
};

ManifestDir make_images(const std::string& tag) {
  std::string release = make_release(tag + "_src", 6);
  ManifestDir m{testutil::temp_dir(tag), {}};
  Dataset d = load_derm7pt(release);
  for (size_t i = 0; i < 6; ++i) {
    std::string rel = "imgs/case" + std::to_string(i) + (i % 2 ? ".JPG" : ".jpg");
    write_file_atomic(m.dir + "/" + rel, read_text_file(d.cases[i].derm_path));
    m.images.push_back(rel);
  }
  return m;
}

std::vector<std::string> errors_of(const std::string& path, const DataOptions& o = {}) {
  std::vector<std::string> errors;
  load_manifest(path, o, &errors);
  return errors;
}

}  // namespace

TEST(Manifest, ColumnsMetaLabelsAndSplitColumn) {
  ManifestDir m = make_images("man_basic");
  std::string text =
      "case,clinic,derm,sex,location,elevation,split,melanoma,MGMT,grade\n"
      "a," + m.images[0] + "," + m.images[1] + ",female,back,flat,train,0.0,EXC,2\n"
      "b,," + m.images[2] + ",male,head neck,,train,1.0,NONE,10\n"
      "c," + m.images[3] + ",,,,,valid,1.0,CLNC,\n"
      "d,," + m.images[4] + ",unknown,,,test,,EXC,1\n"
      "e," + m.images[5] + "," + m.images[5] + ",,,,test,0.0,,2\n";
  write_file_atomic(m.dir + "/manifest.csv", text);
  Dataset d = load_dataset(m.dir + "/manifest.csv");
  EXPECT_EQ(d.format, "manifest");
  EXPECT_EQ(d.crop_border, 0);
  ASSERT_EQ(d.cases.size(), 5u);
  ASSERT_EQ(d.heads.size(), 3u);
  EXPECT_EQ(d.heads[0].name, "melanoma");
  EXPECT_EQ(d.heads[0].classes, (std::vector<std::string>{"0.0", "1.0"}));  // numeric strings stay text
  EXPECT_EQ(d.heads[1].name, "MGMT");
  EXPECT_EQ(d.heads[1].classes, (std::vector<std::string>{"NONE", "CLNC", "EXC"}));  // derm7pt head keeps its order
  EXPECT_EQ(d.heads[2].classes, (std::vector<std::string>{"1", "10", "2"}));      // sorted as text
  EXPECT_EQ(d.cases[0].labels.at("melanoma"), 0);
  EXPECT_EQ(d.cases[1].labels.at("melanoma"), 1);
  EXPECT_EQ(d.cases[3].labels.count("melanoma"), 0u);  // empty cell: unlabeled
  EXPECT_EQ(d.cases[0].labels.at("MGMT"), 2);
  EXPECT_EQ(d.cases[2].labels.at("MGMT"), 1);
  EXPECT_EQ(d.split("train"), (std::vector<int>{0, 1}));
  EXPECT_EQ(d.split("valid"), (std::vector<int>{2}));
  EXPECT_EQ(d.split("test"), (std::vector<int>{3, 4}));
  EXPECT_EQ(d.cases[0].id, "a");
  EXPECT_TRUE(d.cases[0].has_meta);
  EXPECT_EQ(d.cases[0].meta, meta_one_hot("female", "back", "flat"));
  EXPECT_EQ(d.cases[1].meta, meta_one_hot("male", "head neck", ""));
  EXPECT_FALSE(d.cases[2].has_meta);
  EXPECT_FALSE(d.cases[3].has_meta);  // "unknown" only
  EXPECT_TRUE(d.cases[1].clinic_path.empty());
  EXPECT_TRUE(d.cases[2].derm_path.empty());
  EXPECT_FALSE(d.cases[2].clinic_path.empty());
  EXPECT_TRUE(d.cases[4].clinic_path.empty());  // clinic == derm: clinical photo missing
  EXPECT_EQ(d.missing_clinical(), 3);
  EXPECT_TRUE(file_exists(d.cases[0].derm_path));

  // --labels: only the named columns are heads.
  DataOptions o;
  o.label_columns = {"grade"};
  Dataset g = load_manifest(m.dir + "/manifest.csv", o);
  ASSERT_EQ(g.heads.size(), 1u);
  EXPECT_EQ(g.heads[0].name, "grade");
  o.label_columns = {"nope"};
  EXPECT_THROW(load_manifest(m.dir + "/manifest.csv", o), InputError);
  o.label_columns = {"split"};
  EXPECT_THROW(load_manifest(m.dir + "/manifest.csv", o), InputError);
}

TEST(Manifest, IdColumnCaseInsensitiveImagesAndNoSplit) {
  ManifestDir m = make_images("man_id");
  std::string text = "id,derm,label\nx,IMGS/CASE0.JPG,yes\ny," + m.images[1] + ",no\n";
  write_file_atomic(m.dir + "/list.csv", text);
  Dataset d = load_manifest(m.dir + "/list.csv");
  ASSERT_EQ(d.cases.size(), 2u);
  EXPECT_EQ(d.cases[0].id, "x");
  EXPECT_NE(d.cases[0].derm_path.find("imgs/case0.jpg"), std::string::npos) << d.cases[0].derm_path;
  EXPECT_EQ(d.heads[0].classes, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(d.split("all"), (std::vector<int>{0, 1}));  // no split information
}

TEST(Manifest, SplitFiles) {
  ManifestDir m = make_images("man_splitfiles");
  std::string text = "case,derm,y\n";
  for (size_t i = 0; i < 6; ++i) text += "c" + std::to_string(i) + "," + m.images[i] + "," + (i % 2 ? "pos" : "neg") + "\n";
  write_file_atomic(m.dir + "/m.csv", text);
  write_file_atomic(m.dir + "/train.csv", "case\nc0\nc2\nc4\n");
  write_file_atomic(m.dir + "/valid.csv", "indexes\n1\n3\n");
  DataOptions o;
  o.split_files = {{"train", "train.csv"}, {"valid", "valid.csv"}};
  Dataset d = load_manifest(m.dir + "/m.csv", o);
  EXPECT_EQ(d.split("train"), (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(d.split("valid"), (std::vector<int>{1, 3}));
  // Unknown case, out-of-range index and a case in two splits are errors.
  write_file_atomic(m.dir + "/valid.csv", "indexes\n1\n9\n");
  write_file_atomic(m.dir + "/test.csv", "case\nc2\nzz\n");
  o.split_files["test"] = "test.csv";
  auto errors = errors_of(m.dir + "/m.csv", o);
  EXPECT_EQ(count_matching(errors, {"valid.csv:3", "out of range"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"test.csv:2", "'c2' duplicated", "train"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"test.csv:3", "'zz' is not in the manifest"}), 1) << joined(errors);
  EXPECT_EQ(errors.size(), 3u) << joined(errors);
}

TEST(Manifest, ErrorsNameFileRowColumn) {
  ManifestDir m = make_images("man_errors");
  std::string text =
      "case,clinic,derm,sex,split,y\n"
      "a,," + m.images[0] + ",female,train,1\n"
      "a,," + m.images[1] + ",female,train,1\n"          // duplicate id
      "b,,missing/file.jpg,male,valid,0\n"               // missing image
      "c,,,female,train,0\n"                             // no image
      "d,," + m.images[2] + ",woman,train,0\n"           // unknown sex
      "e,," + m.images[3] + ",male,holdout,1\n"          // unknown split
      "f,," + m.images[4] + ",male,train\n";             // wrong field count
  write_file_atomic(m.dir + "/bad.csv", text);
  auto errors = errors_of(m.dir + "/bad.csv");
  EXPECT_EQ(count_matching(errors, {"bad.csv:3", "column 'case'", "duplicate case id 'a'"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"bad.csv:4", "column 'derm'", "image file not found", "missing/file.jpg"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"bad.csv:5", "no image"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"bad.csv:6", "column 'sex'", "'woman'"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"bad.csv:7", "column 'split'", "'holdout'"}), 1) << joined(errors);
  EXPECT_EQ(count_matching(errors, {"bad.csv:8", "expected 6 fields, found 5"}), 1) << joined(errors);
  EXPECT_EQ(errors.size(), 6u) << joined(errors);
  EXPECT_THROW(load_manifest(m.dir + "/bad.csv"), InputErrors);

  write_file_atomic(m.dir + "/noid.csv", "name,derm\nx," + m.images[0] + "\n");
  errors = errors_of(m.dir + "/noid.csv");
  EXPECT_EQ(count_matching(errors, {"missing column 'case'"}), 1) << joined(errors);
  write_file_atomic(m.dir + "/noimg.csv", "case,label\nx,1\n");
  errors = errors_of(m.dir + "/noimg.csv");
  EXPECT_EQ(count_matching(errors, {"no image column"}), 1) << joined(errors);

  // Corrupt image reported only with verify_images.
  write_file_atomic(m.dir + "/imgs/broken.jpg", "garbage");
  write_file_atomic(m.dir + "/broken.csv", "case,derm\nx,imgs/broken.jpg\n");
  EXPECT_TRUE(errors_of(m.dir + "/broken.csv").empty());
  DataOptions o;
  o.verify_images = true;
  errors = errors_of(m.dir + "/broken.csv", o);
  EXPECT_EQ(count_matching(errors, {"broken.jpg", "corrupt"}), 1) << joined(errors);
}
