// The `predict` and `agree` commands, run as a user would run the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "data/image.h"
#include "serve/predictor.h"
#include "serve_fixtures.h"

using namespace skintriage;
using servetest::lesion_image;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

struct CliCase {
  std::string model, dir, clinic, derm;
  CliCase() {
    model = servetest::make_model_dir("CDM", derm7pt_heads(), nlohmann::json::object(), 0.25);
    dir = testutil::temp_dir("cli_predict");
    clinic = join_path(dir, "clinic.png");
    derm = join_path(dir, "derm.jpg");
    write_file_atomic(clinic, encode_png_rgb(lesion_image(300, 240, 140, 120, 50, 1)));
    write_file_atomic(derm, encode_jpeg_rgb(lesion_image(256, 256, 120, 140, 70, 2)));
  }
  std::string base() const { return q(testutil::cli_binary()) + " predict --model " + q(model); }
};

}  // namespace

TEST(CliPredict, JsonMatchesTheLibraryAndWritesHeatmaps) {
  CliCase c;
  std::string out;
  std::string heat = join_path(c.dir, "heat");
  int rc = testutil::run_command(c.base() + " --clinic " + q(c.clinic) + " --derm " + q(c.derm) +
                                     " --sex female --location 'head neck' --elevation flat --json --heatmaps " +
                                     q(heat) + " 2>/dev/null",
                                 out);
  ASSERT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out);
  Predictor p(c.model);
  CaseInput in;
  in.clinic = load_image_rgb(c.clinic);
  in.derm = load_image_rgb(c.derm);
  in.sex = "female";
  in.location = "head neck";
  in.elevation = "flat";
  auto ref = p.predict(in);
  EXPECT_EQ(j["management"]["decision"], ref.decision);
  for (size_t k = 0; k < 3; ++k) {
    std::string cls = ref.json["management"]["classes"][k];
    EXPECT_NEAR(j["management"]["probabilities"][cls].get<double>(), ref.probabilities["MGMT"][k], 1e-5);
  }
  EXPECT_EQ(j["inputs"]["used"], nlohmann::json({"clinic", "derm", "meta"}));
  EXPECT_TRUE(j.contains("seven_point"));
  std::string stem = join_path(heat, "case_clinic_MGMT_" + ref.decision);
  EXPECT_TRUE(file_exists(stem + ".png"));
  ASSERT_TRUE(file_exists(stem + ".json"));
  auto hj = nlohmann::json::parse(read_text_file(stem + ".json"));
  EXPECT_EQ(hj["grid"].size(), 49u);
  EXPECT_TRUE(file_exists(join_path(heat, "case_derm_MGMT_" + ref.decision + ".png")));
}

TEST(CliPredict, HumanOutputPolicyAndLatency) {
  CliCase c;
  std::string out;
  ASSERT_EQ(testutil::run_command(c.base() + " --derm " + q(c.derm) + " --tta 4", out), 0) << out;
  EXPECT_NE(out.find("decision: "), std::string::npos) << out;
  EXPECT_NE(out.find("seven-point score"), std::string::npos) << out;
  EXPECT_NE(out.find("4 view(s)"), std::string::npos) << out;
  std::string policy = join_path(c.dir, "policy.json");
  write_file_atomic(policy, R"({"kind": "threshold", "class": "EXC", "threshold": 0.0})");
  ASSERT_EQ(testutil::run_command(c.base() + " --derm " + q(c.derm) + " --policy " + q(policy) + " --json --repeat 3 2>&1",
                                  out),
            0)
      << out;
  EXPECT_NE(out.find("warm median"), std::string::npos) << out;
  auto j = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(j["management"]["decision"], "EXC");
  EXPECT_EQ(j["timing"]["warm_runs"], 2);
}

TEST(CliPredict, BadInputExitsTwoWithANamedError) {
  CliCase c;
  std::string out;
  EXPECT_EQ(testutil::run_command(c.base() + " --derm " + q(c.derm) + " --sex alien", out), 2) << out;
  EXPECT_NE(out.find("alien"), std::string::npos) << out;
  EXPECT_EQ(testutil::run_command(c.base() + " --derm " + q(join_path(c.dir, "nope.jpg")), out), 2) << out;
  EXPECT_NE(out.find("nope.jpg"), std::string::npos) << out;
  std::string junk = join_path(c.dir, "junk.jpg");
  write_file_atomic(junk, "definitely not a jpeg");
  EXPECT_EQ(testutil::run_command(c.base() + " --derm " + q(junk), out), 2) << out;
  EXPECT_NE(out.find("junk.jpg"), std::string::npos) << out;
  std::string bad_policy = join_path(c.dir, "bad_policy.json");
  write_file_atomic(bad_policy, R"({"kind": "threshold", "class": "EXC", "threshold": 3})");
  EXPECT_EQ(testutil::run_command(c.base() + " --derm " + q(c.derm) + " --policy " + q(bad_policy), out), 2) << out;
  EXPECT_EQ(testutil::run_command(q(testutil::cli_binary()) + " predict --model " + q(c.dir) + " --derm " + q(c.derm), out),
            2)
      << out;
  EXPECT_NE(out.find("model"), std::string::npos) << out;
}

TEST(CliPredict, ManifestBatchWritesOneJsonLinePerCase) {
  CliCase c;
  std::string manifest = join_path(c.dir, "cases.csv");
  std::string corrupt = join_path(c.dir, "corrupt.jpg");
  write_file_atomic(corrupt, "not an image");
  write_file_atomic(manifest,
                    "case,clinic,derm,sex,location,elevation\n"
                    "a,clinic.png,derm.jpg,female,back,flat\n"
                    "b,,derm.jpg,,,\n"
                    "c,clinic.png,corrupt.jpg,male,chest,nodular\n");
  std::string out_file = join_path(c.dir, "preds.jsonl");
  std::string out;
  int rc = testutil::run_command(c.base() + " --manifest " + q(manifest) + " --out " + q(out_file), out);
  EXPECT_EQ(rc, 2) << out;  // one case failed
  std::istringstream lines(read_text_file(out_file));
  std::string line;
  std::vector<nlohmann::json> js;
  while (std::getline(lines, line)) js.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(js.size(), 3u);
  EXPECT_EQ(js[0]["case"], "a");
  EXPECT_EQ(js[0]["inputs"]["used"], nlohmann::json({"clinic", "derm", "meta"}));
  EXPECT_EQ(js[1]["case"], "b");
  EXPECT_EQ(js[1]["inputs"]["missing"], nlohmann::json({"clinic", "meta"}));
  EXPECT_EQ(js[2]["case"], "c");
  ASSERT_TRUE(js[2].contains("error"));
  EXPECT_NE(js[2]["error"].get<std::string>().find("corrupt.jpg"), std::string::npos);
  // The batch line of a case equals the single-case prediction.
  ASSERT_EQ(testutil::run_command(c.base() + " --clinic " + q(c.clinic) + " --derm " + q(c.derm) +
                                      " --sex female --location back --elevation flat --json 2>/dev/null",
                                  out),
            0);
  auto single = nlohmann::json::parse(out);
  EXPECT_EQ(single["heads"], js[0]["heads"]);
}

TEST(CliAgree, KnownAgreementWithSyntheticRaters) {
  CliCase c;
  // Pretrained features (when present) separate the images better than a random backbone, whose
  // saturated outputs can tie P(EXC) across images.
  c.model = servetest::make_model_dir("D", derm7pt_heads(), nlohmann::json::object(), 0.0, 0,
                                      testutil::shared_mobilenet_weights());
  std::string images = join_path(c.dir, "panel");
  Predictor p(c.model);
  const int n = 12;
  std::vector<double> pexc;
  std::vector<std::string> names;
  PredictOptions po;
  po.allow_missing = true;
  for (int i = 0; i < n; ++i) {
    names.push_back("img" + std::to_string(i) + ".png");
    cv::Mat img = lesion_image(224, 224, 60 + 9 * i, 150 - 7 * i, 20 + 4 * i, 50 + static_cast<unsigned>(i));
    write_file_atomic(join_path(images, names.back()), encode_png_rgb(img));
    CaseInput in;
    in.derm = img;
    pexc.push_back(p.predict(in, po).json["management"]["probabilities"]["EXC"].get<double>());
  }
  // A threshold between the 6th and 7th smallest P(EXC): the model says 1 for exactly 6 images.
  std::vector<double> sorted = pexc;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_LT(sorted[5], sorted[6]) << "synthetic images gave tied P(EXC)";
  double t = (sorted[5] + sorted[6]) / 2;
  std::vector<int> model;
  for (double v : pexc) model.push_back(v >= t ? 1 : 0);
  // Raters: A agrees with the model, B is its opposite, C differs on two images (one each way).
  std::ostringstream csv;
  csv << "image,A,B,C,truth\n";
  int flipped1 = 0, flipped0 = 0;
  for (int i = 0; i < n; ++i) {
    int cval = model[static_cast<size_t>(i)];
    if (cval == 1 && !flipped1) cval = 0, flipped1 = 1;
    else if (cval == 0 && !flipped0) cval = 1, flipped0 = 1;
    csv << names[static_cast<size_t>(i)] << "," << model[static_cast<size_t>(i)] << ","
        << 1 - model[static_cast<size_t>(i)] << "," << cval << "," << model[static_cast<size_t>(i)] << "\n";
  }
  std::string ratings = join_path(c.dir, "ratings.csv");
  write_file_atomic(ratings, csv.str());
  std::string out;
  int rc = testutil::run_command(q(testutil::cli_binary()) + " agree --model " + q(c.model) + " --images " + q(images) +
                                     " --ratings " + q(ratings) + " --threshold " + std::to_string(t) + " --json",
                                 out);
  ASSERT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_NEAR(j["per_rater"]["A"]["kappa_with_model"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(j["per_rater"]["B"]["kappa_with_model"].get<double>(), -1.0, 1e-9);
  // C: 10/12 agree, both marginals 6/12 -> kappa = (10/12 - 1/2) / (1/2) = 2/3.
  EXPECT_NEAR(j["per_rater"]["C"]["kappa_with_model"].get<double>(), 2.0 / 3.0, 1e-9);
  EXPECT_NEAR(j["model"]["truth"]["sensitivity"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(j["model"]["truth"]["specificity"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(j["per_image"].size(), static_cast<size_t>(n));
  // Human-readable form, and a missing image is named.
  ASSERT_EQ(testutil::run_command(q(testutil::cli_binary()) + " agree --model " + q(c.model) + " --images " +
                                      q(images) + " --ratings " + q(ratings),
                                  out),
            0)
      << out;
  EXPECT_NE(out.find("model-rater kappa"), std::string::npos) << out;
  write_file_atomic(ratings, "image,A,B\nmissing.png,1,0\nimg0.png,0,1\n");
  EXPECT_EQ(testutil::run_command(q(testutil::cli_binary()) + " agree --model " + q(c.model) + " --images " +
                                      q(images) + " --ratings " + q(ratings),
                                  out),
            2)
      << out;
  EXPECT_NE(out.find("missing.png"), std::string::npos) << out;
}
