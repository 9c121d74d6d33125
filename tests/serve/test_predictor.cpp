// Predictor: calibrated heads, management via head or priors, policies, TTA, missing inputs,
// seven-point score, heatmap shapes, concurrency.
#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "data/image.h"
#include "serve/predictor.h"
#include "serve_fixtures.h"

using namespace skintriage;
using servetest::lesion_image;
using servetest::make_model_dir;

namespace {

CaseInput full_case() {
  CaseInput in;
  in.clinic = lesion_image(224, 224, 100, 120, 40, 1);
  in.derm = lesion_image(224, 224, 120, 100, 60, 2);
  in.sex = "female";
  in.location = "back";
  in.elevation = "flat";
  return in;
}

double sum_probs(const nlohmann::json& probs) {
  double s = 0;
  for (auto it = probs.begin(); it != probs.end(); ++it) s += it.value().get<double>();
  return s;
}

}  // namespace

TEST(Predictor, EveryHeadCalibratedAndDecided) {
  Predictor p(make_model_dir());
  Prediction r = p.predict(full_case());
  const auto& j = r.json;
  ASSERT_TRUE(j.contains("heads"));
  for (const auto& h : derm7pt_heads()) {
    ASSERT_TRUE(j["heads"].contains(h.name)) << h.name;
    EXPECT_NEAR(sum_probs(j["heads"][h.name]["probabilities"]), 1.0, 1e-6) << h.name;
    for (auto it = j["heads"][h.name]["probabilities"].begin(); it != j["heads"][h.name]["probabilities"].end(); ++it)
      EXPECT_TRUE(std::isfinite(it.value().get<double>()));
  }
  // Default policy is argmax.
  const auto& m = j["management"];
  std::string best;
  double bp = -1;
  for (auto it = m["probabilities"].begin(); it != m["probabilities"].end(); ++it)
    if (it.value().get<double>() > bp) bp = it.value().get<double>(), best = it.key();
  EXPECT_EQ(m["decision"], best);
  EXPECT_EQ(r.decision, best);
  EXPECT_EQ(m["source"], "MGMT head");
  EXPECT_EQ(j["inputs"]["used"], nlohmann::json({"clinic", "derm", "meta"}));
  EXPECT_TRUE(j["inputs"]["missing"].empty());
  EXPECT_EQ(j["diagnosis"]["classes"].size(), 5u);
  EXPECT_EQ(j["criteria"].size(), 7u);
  EXPECT_FALSE(j["calibration"]["applied"].get<bool>());
}

TEST(Predictor, SevenPointScoreFromCriteria) {
  // The checklist points, worked by hand from the derm7pt definition.
  const std::map<std::pair<std::string, std::string>, int> pts = {
      {{"PN", "ATP"}, 2}, {{"BWV", "PRS"}, 2}, {{"VS", "IR"}, 2}, {{"PIG", "IR"}, 1},
      {{"STR", "IR"}, 1}, {{"DaG", "IR"}, 1},  {{"RS", "PRS"}, 1}};
  for (const auto& h : derm7pt_heads())
    for (const auto& c : h.classes) {
      auto it = pts.find({h.name, c});
      EXPECT_EQ(seven_point_points(h.name, c), it == pts.end() ? 0 : it->second) << h.name << "/" << c;
    }
  Predictor p(make_model_dir());
  auto j = p.predict(full_case()).json;
  double expected = 0;
  int argmax_score = 0;
  for (auto it = j["criteria"].begin(); it != j["criteria"].end(); ++it) {
    const auto& c = it.value();
    std::string best;
    double bp = -1;
    for (auto pit = c["probabilities"].begin(); pit != c["probabilities"].end(); ++pit) {
      auto k = pts.find({it.key(), pit.key()});
      int points = k == pts.end() ? 0 : k->second;
      expected += points * pit.value().get<double>();
      if (pit.value().get<double>() > bp) bp = pit.value().get<double>(), best = pit.key();
    }
    auto k = pts.find({it.key(), best});
    argmax_score += k == pts.end() ? 0 : k->second;
  }
  EXPECT_NEAR(j["seven_point"]["expected"].get<double>(), expected, 1e-9);
  EXPECT_EQ(j["seven_point"]["argmax"].get<int>(), argmax_score);
  EXPECT_EQ(j["seven_point"]["suspicious"].get<bool>(), argmax_score >= 3);
  EXPECT_TRUE(j["seven_point"]["complete"].get<bool>());
}

TEST(Predictor, TemperatureScalesEveryHead) {
  // Same weights (same seed), saved with and without temperatures: softmax(z/T) = p^(1/T) / sum p^(1/T).
  auto a = Predictor(make_model_dir()).predict(full_case()).probabilities;
  nlohmann::json extra = {{"temperature", {{"MGMT", 2.0}, {"DIAG", 0.5}}}};
  Predictor calibrated(make_model_dir("CDM", derm7pt_heads(), extra));
  auto r = calibrated.predict(full_case());
  EXPECT_TRUE(r.json["calibration"]["applied"].get<bool>());
  for (auto [head, t] : std::map<std::string, double>{{"MGMT", 2.0}, {"DIAG", 0.5}, {"PN", 1.0}}) {
    const auto& p = a.at(head);
    double z = 0;
    for (double v : p) z += std::pow(v, 1.0 / t);
    for (size_t k = 0; k < p.size(); ++k)
      EXPECT_NEAR(r.probabilities.at(head)[k], std::pow(p[k], 1.0 / t) / z, 1e-6) << head << " " << k;
  }
}

TEST(Predictor, ThresholdPolicyOverridesArgmax) {
  Predictor p(make_model_dir());
  auto base = p.predict(full_case());
  double pexc = base.json["management"]["probabilities"]["EXC"].get<double>();
  PredictOptions lo, hi;
  lo.policy = {{"kind", "threshold"}, {"class", "EXC"}, {"threshold", std::max(0.0, pexc - 1e-3)}};
  hi.policy = {{"kind", "threshold"}, {"class", "EXC"}, {"threshold", std::min(1.0, pexc + 1e-3)}};
  EXPECT_EQ(p.predict(full_case(), lo).decision, "EXC");
  // Above P(EXC): never EXC; the argmax of the other two classes.
  auto r = p.predict(full_case(), hi);
  const auto& pr = base.json["management"]["probabilities"];
  std::string other = pr["NONE"].get<double>() >= pr["CLNC"].get<double>() ? "NONE" : "CLNC";
  EXPECT_EQ(r.decision, other);
  EXPECT_EQ(r.json["management"]["policy"]["kind"], "threshold");
  // The model's own policy (stored in model.json) applies when no override is given.
  nlohmann::json extra = {{"policy", {{"kind", "threshold"}, {"class", "EXC"}, {"threshold", 0.0}}}};
  Predictor q(make_model_dir("CDM", derm7pt_heads(), extra));
  EXPECT_EQ(q.predict(full_case()).decision, "EXC");
  // A policy on a class the model does not have is an input error.
  PredictOptions bad;
  bad.policy = {{"kind", "threshold"}, {"class", "MEL"}, {"threshold", 0.5}};
  EXPECT_THROW(p.predict(full_case(), bad), InputError);
}

TEST(Predictor, ManagementInferredFromDiagnosisPriors) {
  std::vector<HeadSpec> heads;
  for (const auto& h : derm7pt_heads())
    if (h.name == "DIAG") heads.push_back(h);
  nlohmann::json priors = {{"source", "test"},
                           {"diag_classes", {"BCC", "NEV", "MEL", "MISC", "SK"}},
                           {"mgmt_classes", {"NONE", "CLNC", "EXC"}},
                           {"p", {{0, 0, 1}, {0.1, 0.6, 0.3}, {0, 0.05, 0.95}, {0.7, 0.2, 0.1}, {0.8, 0.2, 0}}},
                           {"counts", nlohmann::json::array()}};
  Predictor p(make_model_dir("CDM", heads, {{"priors", priors}}));
  auto r = p.predict(full_case());
  const auto& d = r.probabilities.at("DIAG");
  const auto& pm = r.probabilities.at("MGMT");
  for (size_t m = 0; m < 3; ++m) {
    double e = 0;
    for (size_t k = 0; k < 5; ++k) e += d[k] * priors["p"][k][m].get<double>();
    EXPECT_NEAR(pm[m], e, 1e-9);
  }
  EXPECT_NE(r.json["management"]["source"].get<std::string>().find("priors"), std::string::npos);
  // And its management decision can be explained.
  PredictOptions o;
  o.heatmaps = true;
  auto h = p.predict(full_case(), o);
  EXPECT_EQ(h.heatmaps.size(), 2u);
}

TEST(Predictor, TestTimeViewsAverageTheFlippedInputs) {
  Predictor p(make_model_dir());
  CaseInput in = full_case();
  PredictOptions o;
  o.tta = 3;  // identity, horizontal flip, vertical flip
  auto r = p.predict(in, o);
  // The same three views, made by hand on the images (square 224 px: no crop or resize involved).
  std::vector<double> mean(3, 0.0);
  for (int flip : {2, 1, 0}) {  // 2 = none, 1 = horizontal (around the vertical axis), 0 = vertical
    CaseInput v = in;
    if (flip != 2) {
      cv::flip(in.clinic, v.clinic, flip);
      cv::flip(in.derm, v.derm, flip);
    }
    auto pv = p.predict(v).probabilities.at("MGMT");
    for (size_t k = 0; k < 3; ++k) mean[k] += pv[k] / 3.0;
  }
  for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(r.probabilities.at("MGMT")[k], mean[k], 1e-5);
  EXPECT_EQ(r.json["uncertainty"]["views"].get<int>(), 3);
  EXPECT_GE(r.json["uncertainty"]["decision_probability_spread"].get<double>(), 0.0);
  // A uniform image is the same under every view: no spread at all.
  CaseInput flat;
  flat.derm = cv::Mat(224, 224, CV_8UC3, cv::Scalar(180, 140, 120));
  flat.clinic = flat.derm.clone();
  flat.sex = "male";
  flat.location = "chest";
  flat.elevation = "flat";
  o.tta = 8;
  auto f = p.predict(flat, o);
  EXPECT_LT(f.json["uncertainty"]["decision_probability_spread"].get<double>(), 1e-5);
  EXPECT_EQ(f.json["uncertainty"]["views_agreeing_with_decision"].get<int>(), 8);
  o.tta = 9;
  EXPECT_THROW(p.predict(flat, o), InputError);
}

TEST(Predictor, MissingInputsNeedAModelTrainedForThem) {
  Predictor strict(make_model_dir("CDM", derm7pt_heads(), nlohmann::json::object(), /*modality_dropout=*/0.0));
  CaseInput derm_only;
  derm_only.derm = lesion_image(224, 224, 100, 100, 50, 3);
  EXPECT_FALSE(strict.supports_missing());
  try {
    strict.predict(derm_only);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("clinic"), std::string::npos) << e.what();
  }
  PredictOptions allow;
  allow.allow_missing = true;
  auto r = strict.predict(derm_only, allow);
  EXPECT_EQ(r.json["inputs"]["used"], nlohmann::json({"derm"}));
  EXPECT_EQ(r.json["inputs"]["missing"], nlohmann::json({"clinic", "meta"}));
  EXPECT_FALSE(r.json["warnings"].empty());

  Predictor robust(make_model_dir("CDM", derm7pt_heads(), nlohmann::json::object(), /*modality_dropout=*/0.25));
  EXPECT_TRUE(robust.supports_missing());
  auto q = robust.predict(derm_only);
  EXPECT_EQ(q.json["inputs"]["missing"], nlohmann::json({"clinic", "meta"}));
  // No image at all, or a value outside the vocabulary: errors naming the problem.
  CaseInput none;
  none.sex = "female";
  EXPECT_THROW(robust.predict(none), InputError);
  CaseInput bad = derm_only;
  bad.location = "elbow";
  try {
    robust.predict(bad);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("elbow"), std::string::npos) << e.what();
  }
  // A dermoscopic-only model ignores a clinical photo and says so.
  Predictor donly(make_model_dir("D", derm7pt_heads()));
  CaseInput both = full_case();
  auto d = donly.predict(both);
  EXPECT_EQ(d.json["inputs"]["used"], nlohmann::json({"derm"}));
  EXPECT_EQ(d.json["inputs"]["ignored"], nlohmann::json({"clinic", "meta"}));
}

TEST(Predictor, HeatmapsForEachImageAndChosenHead) {
  Predictor p(make_model_dir("CDM", derm7pt_heads(), nlohmann::json::object(), 0.0, /*crop_border=*/10));
  CaseInput in = full_case();
  in.clinic = lesion_image(300, 240, 150, 120, 50, 5);  // not square: checks the crop geometry
  PredictOptions o;
  o.heatmaps = true;
  auto r = p.predict(in, o);
  ASSERT_EQ(r.heatmaps.size(), 2u);
  const auto& h = r.heatmaps[0];
  EXPECT_EQ(h.modality, "clinic");
  EXPECT_EQ(h.head, "MGMT");
  EXPECT_EQ(h.cls, r.decision);
  EXPECT_EQ(h.grid_w, 7);
  EXPECT_EQ(h.grid_h, 7);
  ASSERT_EQ(h.grid.size(), 49u);
  for (float v : h.grid) EXPECT_TRUE(v >= 0.0f && v <= 1.0f);
  // 300x240 minus a 10 px border = 280x220; its centred square is 220 px at x = 10 + 30, y = 10.
  EXPECT_EQ(h.crop_side, 220);
  EXPECT_EQ(h.crop_x, 40);
  EXPECT_EQ(h.crop_y, 10);
  cv::Mat overlay = decode_image_rgb(h.overlay_png, "overlay");
  EXPECT_EQ(overlay.cols, 224);
  EXPECT_EQ(overlay.rows, 224);
  ASSERT_TRUE(r.json.contains("heatmaps"));
  EXPECT_EQ(r.json["heatmaps"][1]["modality"], "derm");

  o.explain = {"PN", "ATP"};
  auto c = p.predict(in, o);
  EXPECT_EQ(c.heatmaps[0].head, "PN");
  EXPECT_EQ(c.heatmaps[0].cls, "ATP");
  o.explain = {"PN", "XYZ"};
  EXPECT_THROW(p.predict(in, o), InputError);
  o.explain = {"NOPE", ""};
  EXPECT_THROW(p.predict(in, o), InputError);
}

TEST(Predictor, ConcurrentCallsGiveTheSequentialAnswer) {
  Predictor p(make_model_dir());
  PredictOptions o;
  o.heatmaps = true;  // the autograd path too
  auto ref = p.predict(full_case(), o);
  std::vector<std::future<Prediction>> fs;
  for (int t = 0; t < 4; ++t)
    fs.push_back(std::async(std::launch::async, [&] { return p.predict(full_case(), o); }));
  for (auto& f : fs) {
    auto r = f.get();
    for (const auto& kv : ref.probabilities)
      for (size_t k = 0; k < kv.second.size(); ++k) EXPECT_NEAR(r.probabilities.at(kv.first)[k], kv.second[k], 1e-6);
    ASSERT_EQ(r.heatmaps.size(), ref.heatmaps.size());
    for (size_t i = 0; i < r.heatmaps[0].grid.size(); ++i) EXPECT_NEAR(r.heatmaps[0].grid[i], ref.heatmaps[0].grid[i], 1e-5);
  }
}

TEST(Predictor, ModelCardDescribesTheModel) {
  Predictor p(make_model_dir("DM", derm7pt_heads(), {{"metrics", {{"test", {{"MGMT", {{"accuracy", 0.5}}}}}}}}));
  auto c = p.model_card();
  EXPECT_EQ(c["architecture"], "mobilenet_v2");
  EXPECT_EQ(c["inputs"]["set"], "DM");
  EXPECT_FALSE(c["inputs"]["clinic"].get<bool>());
  EXPECT_EQ(c["heads"].size(), 9u);
  EXPECT_EQ(c["vocabularies"]["location"].size(), 9u);
  EXPECT_EQ(c["metrics"]["test"]["MGMT"]["accuracy"], 0.5);
  EXPECT_EQ(c["management"]["policy"]["kind"], "argmax");
  EXPECT_THROW(Predictor("/nonexistent/model"), InputError);
}
