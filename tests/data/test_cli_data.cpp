// `skintriage synth` and `skintriage data check` through the built binary: the synth -> check
// round trip with expected counts, the error exit, and the ISIC 2017 manifest on shared images.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/files.h"
#include "data/derm7pt_vocab.h"
#include "data/synth.h"
#include "release_fixture.h"
#include "test_util.h"

using namespace skintriage;
using nlohmann::json;

namespace {

json run_json(const std::string& args, int& rc) {
  std::string out;
  rc = testutil::run_command(testutil::cli_binary() + " " + args, out);
  try {
    return json::parse(out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << out;
    return json::object();
  }
}

}  // namespace

TEST(CliData, SynthThenDataCheckRoundTrip) {
  std::string dir = testutil::temp_dir("cli_synth") + "/release";
  std::string out;
  ASSERT_EQ(testutil::run_command(testutil::cli_binary() + " synth --out " + dir + " --cases 60 --seed 5 --size 192x128", out), 0)
      << out;
  int rc = -1;
  json j = run_json("data check --data " + dir + " --json --verify-images", rc);
  EXPECT_EQ(rc, 0) << j.dump(1);
  // Expected counts from the generator's own label rows and splits.
  auto rows = synth_rows(60, 5);
  auto splits = synth_splits(60, 5);
  EXPECT_EQ(j["cases"], 60);
  EXPECT_EQ(j["errors"], json::array());
  int same = 0;
  for (auto& r : rows) same += r.at("clinic") == r.at("derm") ? 1 : 0;
  EXPECT_EQ(j["missing_clinical"], same);
  for (const auto& [name, positions] : splits) {
    EXPECT_EQ(j["splits"][name], positions.size()) << name;
    std::map<std::string, int> mg, dg;
    for (const auto& c : management_vocab().classes) mg[c] = 0;
    for (const auto& c : diagnosis_vocab().classes) dg[c] = 0;
    for (int p : positions) {
      mg[management_vocab().class_of(rows[static_cast<size_t>(p)].at("management"))]++;
      dg[diagnosis_vocab().class_of(rows[static_cast<size_t>(p)].at("diagnosis"))]++;
    }
    for (auto& [c, n] : mg) EXPECT_EQ(j["management"][name][c], n) << name << " " << c;
    for (auto& [c, n] : dg) EXPECT_EQ(j["diagnosis5"][name][c], n) << name << " " << c;
  }
  // Text mode prints a summary and OK.
  ASSERT_EQ(testutil::run_command(testutil::cli_binary() + " data check --data " + dir, out), 0) << out;
  EXPECT_NE(out.find("OK: no errors"), std::string::npos) << out;
  EXPECT_NE(out.find("cases 60"), std::string::npos) << out;
}

TEST(CliData, DataCheckReportsErrorsAndExitsNonZero) {
  std::string dir = testdata::make_release("cli_bad", 10);
  auto meta = testdata::read_meta(dir);
  meta[1][static_cast<size_t>(testdata::meta_col("diagnosis"))] = "melanoma (thick)";
  testdata::write_meta(dir, meta);
  int rc = 0;
  json j = run_json("data check --data " + dir + " --json", rc);
  EXPECT_NE(rc, 0);
  EXPECT_EQ(j["cases"], 10);  // the summary survives the error
  ASSERT_EQ(j["errors"].size(), 1u) << j.dump(1);
  EXPECT_NE(j["errors"][0].get<std::string>().find("melanoma (thick)"), std::string::npos);
  std::string out;
  EXPECT_NE(testutil::run_command(testutil::cli_binary() + " data check --data " + dir + "/nothing_here", out), 0);
  EXPECT_NE(out.find("nothing_here"), std::string::npos) << out;
  EXPECT_NE(testutil::run_command(testutil::cli_binary() + " synth --out " + dir + "/x --size 12by4", out), 0);
  EXPECT_NE(out.find("--size"), std::string::npos) << out;
}

TEST(CliData, IsicManifestOnSharedImages) {
  std::string shared = testutil::shared_dir();
  std::string isic = shared.empty() ? "" : shared + "/data/isic2017";
  if (isic.empty() || !file_exists(isic + "/train_labels.csv")) GTEST_SKIP() << "shared ISIC 2017 images not available";
  std::string dir = testutil::temp_dir("cli_isic");
  std::string text = "case,derm,melanoma,split\n";
  for (const char* split : {"train", "valid"}) {
    CsvTable labels = read_csv(isic + "/" + split + "_labels.csv");
    int id = labels.require_column("image_id"), mel = labels.require_column("melanoma");
    for (size_t r = 0; r < labels.rows.size(); ++r)
      text += csv_line({labels.at(r, id), isic + "/" + split + "/" + labels.at(r, id) + ".jpg", labels.at(r, mel), split}) + "\n";
  }
  write_file_atomic(dir + "/isic.csv", text);
  int rc = -1;
  json j = run_json("data check --data " + dir + "/isic.csv --json --verify-images", rc);
  EXPECT_EQ(rc, 0) << j.dump(1);
  EXPECT_EQ(j["format"], "manifest");
  EXPECT_EQ(j["cases"], 2150);
  EXPECT_EQ(j["splits"]["train"], 2000);
  EXPECT_EQ(j["splits"]["valid"], 150);
  EXPECT_EQ(j["labels"]["melanoma"]["train"]["1.0"], 374);
  EXPECT_EQ(j["labels"]["melanoma"]["train"]["0.0"], 1626);
  EXPECT_EQ(j["labels"]["melanoma"]["valid"]["1.0"], 30);
  EXPECT_EQ(j["missing_clinical"], 2150);
  EXPECT_EQ(j["errors"], json::array());
}
