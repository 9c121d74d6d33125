// The multimodal network, model folders, preprocessing, and the shared pretrained MobileNetV2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/image.h"
#include "model/checkpoint.h"
#include "model/factory.h"
#include "model/multimodal.h"
#include "model/preprocess.h"
#include "model/state_dict.h"
#include "oracle.h"
#include "test_util.h"

namespace skintriage {
namespace {

using namespace testutil;

std::vector<HeadSpec> test_heads() {
  return {{"MGMT", {"NONE", "CLNC", "EXC"}}, {"DIAG", {"BCC", "NEV", "MEL", "MISC", "SK"}}, {"RS", {"ABS", "PRS"}}};
}

MultimodalBatch synthetic_batch(int64_t n, int64_t side, bool clinic, bool derm, bool meta) {
  MultimodalBatch b;
  if (clinic) b.clinic = torch::randn({n, 3, side, side});
  if (derm) b.derm = torch::randn({n, 3, side, side});
  if (meta) {
    b.meta = torch::zeros({n, kMetaDims});
    for (int64_t i = 0; i < n; ++i) {
      b.meta[i][i % 2] = 1;
      b.meta[i][2 + i % 9] = 1;
      b.meta[i][11 + i % 3] = 1;
    }
  }
  b.clinic_present = torch::full({n}, clinic ? 1.0 : 0.0);
  b.derm_present = torch::full({n}, derm ? 1.0 : 0.0);
  b.meta_present = torch::full({n}, meta ? 1.0 : 0.0);
  return b;
}

class InputSets : public ::testing::TestWithParam<std::string> {};

TEST_P(InputSets, BuildsRunsSavesAndReloadsToIdenticalOutputs) {
  torch::manual_seed(11);
  MultimodalNetOptions o;
  o.inputs = GetParam();
  o.heads = test_heads();
  o.hidden = o.inputs.size() == 3 ? 16 : 0;
  o.dropout = 0.3;
  ModelBundle m = make_pretrained_model(o, "");
  EXPECT_EQ(m.preprocessing.source, "random-init:torchvision");
  auto batch = synthetic_batch(3, 48, o.uses_clinic(), o.uses_derm(), o.uses_meta());
  torch::NoGradGuard ng;
  auto out = m.net->forward(batch);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out["MGMT"].sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(out["DIAG"].sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(out["RS"].sizes(), (std::vector<int64_t>{3, 2}));
  int64_t images = (o.uses_clinic() ? 1 : 0) + (o.uses_derm() ? 1 : 0);
  EXPECT_EQ(m.net->fusion_dim(), images * 1280 + (o.uses_meta() ? kMetaDims : 0) + 3);

  std::string dir = temp_dir("model_mm") + "/model";
  m.extra["temperature"] = {{"MGMT", 1.5}};
  save_model(dir, m);
  EXPECT_FALSE(std::filesystem::exists(dir + "/model.pth.tmp"));
  ModelBundle back = load_model(dir);
  EXPECT_EQ(back.options.inputs, o.inputs);
  EXPECT_EQ(back.options.heads.size(), 3u);
  EXPECT_EQ(back.options.heads[1].classes[2], "MEL");
  EXPECT_EQ(back.options.hidden, o.hidden);
  EXPECT_EQ(back.extra["temperature"]["MGMT"].get<double>(), 1.5);
  EXPECT_EQ(back.preprocessing.to_json(), m.preprocessing.to_json());
  auto again = back.net->forward(batch);
  for (const auto& [head, logits] : out) EXPECT_TRUE(torch::equal(logits, again[head])) << head;
}

INSTANTIATE_TEST_SUITE_P(PaperSets, InputSets, ::testing::Values("C", "CM", "D", "DM", "CD", "CDM"));

TEST(Multimodal, MissingModalityIsZeroFilledAndFlagged) {
  torch::manual_seed(5);
  MultimodalNetOptions o;
  o.inputs = "CDM";
  o.heads = test_heads();
  MultimodalNet net(o);
  net->eval();
  torch::NoGradGuard ng;
  auto a = synthetic_batch(2, 40, true, true, true);
  a.clinic_present = torch::tensor({0.0f, 1.0f});
  auto b = a;
  b.clinic = a.clinic.clone();
  b.clinic[0].normal_();  // different pixels for the sample whose clinical image is absent
  auto ya = net->forward(a), yb = net->forward(b);
  EXPECT_TRUE(torch::allclose(ya["MGMT"][0], yb["MGMT"][0], 1e-6, 1e-6));
  // An undefined clinical tensor for the whole batch equals presence 0 everywhere.
  auto c = a;
  c.clinic = torch::Tensor();
  c.clinic_present = torch::Tensor();
  auto d = a;
  d.clinic_present = torch::zeros({2});
  EXPECT_TRUE(torch::allclose(net->forward(c)["DIAG"], net->forward(d)["DIAG"], 1e-6, 1e-6));
  // ...but presence does matter: with the image present the prediction differs.
  EXPECT_FALSE(torch::allclose(ya["MGMT"][1], net->forward(d)["MGMT"][1], 1e-6, 1e-6));
  // Frozen-feature mode gives the same heads as the full forward.
  EmbeddingBatch e;
  e.clinic = net->embed("clinic", a.clinic);
  e.derm = net->embed("derm", a.derm);
  e.meta = a.meta;
  e.clinic_present = a.clinic_present;
  e.derm_present = a.derm_present;
  e.meta_present = a.meta_present;
  EXPECT_TRUE(torch::allclose(net->forward_embeddings(e)["MGMT"], ya["MGMT"], 1e-5, 1e-5));
  EXPECT_EQ(e.clinic.sizes(), (std::vector<int64_t>{2, 1280}));
  // Wrong shapes are input errors, not crashes.
  e.meta = torch::zeros({2, 5});
  EXPECT_THROW(net->forward_embeddings(e), InputError);
}

TEST(Multimodal, ModalityDropoutOnlyInTrainingAndNeverDropsEverything) {
  torch::manual_seed(6);
  MultimodalNetOptions o;
  o.inputs = "DM";
  o.heads = test_heads();
  o.modality_dropout = 0.5;
  MultimodalNet net(o);
  EmbeddingBatch e;
  e.derm = torch::randn({64, 1280});
  e.meta = torch::ones({64, kMetaDims});
  net->eval();
  auto y1 = net->forward_embeddings(e)["MGMT"], y2 = net->forward_embeddings(e)["MGMT"];
  EXPECT_TRUE(torch::equal(y1, y2));
  net->train();
  auto y3 = net->forward_embeddings(e)["MGMT"];
  EXPECT_FALSE(torch::allclose(y1, y3));
  // A sample with both inputs dropped would see an all-zero fused vector: every output row
  // must differ from that.
  EmbeddingBatch zero;
  zero.derm = torch::zeros({1, 1280});
  zero.meta = torch::zeros({1, kMetaDims});
  zero.derm_present = torch::zeros({1});
  zero.meta_present = torch::zeros({1});
  net->eval();
  auto none = net->forward_embeddings(zero)["MGMT"];
  EXPECT_GT((y3 - none).abs().sum(1).min().item<double>(), 1e-6);
}

TEST(Multimodal, SeparateBackbonesFreezeBnAndParameterGroups) {
  MultimodalNetOptions o;
  o.arch = "resnet18";
  o.inputs = "CD";
  o.heads = test_heads();
  o.shared_backbone = false;
  MultimodalNet net(o);
  EXPECT_NE(net->backbone("clinic").get(), net->backbone("derm").get());
  EXPECT_EQ(net->embedding_dim(), 512);
  size_t all = net->parameters().size();
  EXPECT_EQ(net->head_parameters().size() + net->backbone_parameters().size(), all);
  EXPECT_EQ(net->head_parameters().size(), 6u);
  net->train();
  EXPECT_TRUE(net->is_training());
  for (auto& m : net->backbone("derm")->modules(false))
    if (m->as<torch::nn::BatchNorm2d>()) EXPECT_FALSE(m->is_training());
  MultimodalNetOptions shared = o;
  shared.shared_backbone = true;
  MultimodalNet one(shared);
  EXPECT_EQ(one->backbone("clinic").get(), one->backbone("derm").get());
  EXPECT_THROW(one->backbone("dermoscopy"), InputError);
  // Options validation.
  MultimodalNetOptions badset = o;
  badset.inputs = "MD";
  EXPECT_THROW(MultimodalNet{badset}, InputError);
  MultimodalNetOptions nohead = o;
  nohead.heads.clear();
  EXPECT_THROW(MultimodalNet{nohead}, InputError);
}

TEST(ModelFolder, BrokenFoldersGiveInputErrorsNamingTheFile) {
  MultimodalNetOptions o;
  o.inputs = "D";
  o.heads = test_heads();
  ModelBundle m = make_pretrained_model(o, "");
  std::string dir = temp_dir("model_broken");
  save_model(dir + "/ok", m);
  EXPECT_NE(testutil::input_error_of([&] { load_model(dir + "/absent"); }).find("model.json is missing"), std::string::npos);
  // Weights of a different model: the heads do not fit.
  MultimodalNetOptions o2 = o;
  o2.heads = {{"MGMT", {"NONE", "CLNC", "EXC"}}};
  save_model(dir + "/other", make_pretrained_model(o2, ""));
  std::filesystem::copy_file(dir + "/other/model.pth", dir + "/ok/model.pth",
                             std::filesystem::copy_options::overwrite_existing);
  std::string msg = testutil::input_error_of([&] { load_model(dir + "/ok"); });
  EXPECT_NE(msg.find("model.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing: head_DIAG.weight"), std::string::npos) << msg;
  // Bad JSON fields.
  auto j = nlohmann::json::parse(read_text_file(dir + "/other/model.json"));
  j["options"]["inputs"] = "XYZ";
  write_file_atomic(dir + "/other/model.json", j.dump());
  msg = testutil::input_error_of([&] { load_model(dir + "/other"); });
  EXPECT_NE(msg.find("'inputs'"), std::string::npos) << msg;
  write_file_atomic(dir + "/other/model.json", "{not json");
  EXPECT_NE(testutil::input_error_of([&] { load_model(dir + "/other"); }).find("invalid JSON"), std::string::npos);
  std::filesystem::remove(dir + "/other/model.pth");
  EXPECT_NE(testutil::input_error_of([&] { load_model(dir + "/other"); }).find("model.pth is missing"), std::string::npos);
}

TEST(Preprocessing, PresetsJsonAndImageToTensor) {
  auto tf = Preprocessing::preset("tf", "mobilenet_v2", 0);
  EXPECT_EQ(tf.input_size, 224);
  EXPECT_EQ(Preprocessing::preset("torchvision", "inception_v3", 0).input_size, 299);
  EXPECT_THROW(Preprocessing::preset("caffe", "resnet18", 0), InputError);
  auto j = tf.to_json();
  EXPECT_EQ(Preprocessing::from_json(j, "x").to_json(), j);
  auto bad = j;
  bad["std"] = {0.5, 0.0, 0.5};
  EXPECT_NE(testutil::input_error_of([&] { Preprocessing::from_json(bad, "side.json"); }).find("side.json: field 'std'"),
            std::string::npos);
  bad = j;
  bad["color_order"] = "RBG";
  EXPECT_THROW(Preprocessing::from_json(bad, "side.json"), InputError);

  // A 2x4 image: the centred square is columns 1..2; with input_size 2 no resizing happens.
  cv::Mat img(2, 4, CV_8UC3);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) img.at<cv::Vec3b>(r, c) = cv::Vec3b(c * 50, r * 100, 255);
  auto p = Preprocessing::preset("tf", "mobilenet_v2", 2);
  auto t = image_to_tensor(img, p);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 2, 2}));
  // x / 127.5 - 1 for R of (row 0, col 1) = 50, G of row 1 = 100, B = 255.
  EXPECT_NEAR(t[0][0][0].item<float>(), 50 / 127.5 - 1, 1e-5);
  EXPECT_NEAR(t[0][1][1].item<float>(), 100 / 127.5 - 1, 1e-5);
  EXPECT_NEAR(t[1][1][0].item<float>(), 100 / 127.5 - 1, 1e-5);
  EXPECT_NEAR(t[2][0][1].item<float>(), 1.0, 1e-5);
  auto tv = Preprocessing::preset("torchvision", "resnet18", 2);
  EXPECT_NEAR(image_to_tensor(img, tv)[2][0][0].item<float>(), (1.0 - 0.406) / 0.225, 1e-5);
  tv.color_order = "BGR";
  EXPECT_NEAR(image_to_tensor(img, tv)[0][0][0].item<float>(), (1.0 - 0.485) / 0.229, 1e-5);
  EXPECT_EQ(image_to_tensor(img, Preprocessing::preset("tf", "resnet18", 7)).sizes(), (std::vector<int64_t>{3, 7, 7}));
  EXPECT_THROW(image_to_tensor(cv::Mat(), p), InputError);
  EXPECT_THROW(image_to_tensor(cv::Mat(3, 3, CV_8UC1), p), InputError);
}

TEST(Preprocessing, SidecarBeatsInferenceAndUnknownClassCountsAreRefused) {
  std::string dir = temp_dir("model_sidecar");
  torch::manual_seed(1);
  auto net = make_backbone("resnet18", 1000);
  save_state_dict(dir + "/r.pth", module_state(*net));
  StateDict sd = load_state_dict(dir + "/r.pth");
  auto inferred = resolve_preprocessing(dir + "/r.pth", sd, "");
  EXPECT_EQ(inferred.source, "inferred");
  EXPECT_EQ(inferred.arch, "resnet18");
  EXPECT_EQ(inferred.num_classes, 1000);
  EXPECT_FLOAT_EQ(inferred.std[1], 0.224f);
  EXPECT_EQ(resolve_preprocessing(dir + "/r.pth", sd, "", "tf").mean[0], 0.5f);
  write_file_atomic(dir + "/labels.txt", "a\nb\n");
  write_file_atomic(dir + "/r.pth.json",
                    R"({"arch":"resnet18","preset":"tf","input_size":160,"labels":"labels.txt"})");
  auto side = resolve_preprocessing(dir + "/r.pth", sd, "");
  EXPECT_EQ(side.source.rfind("sidecar:", 0), 0u);
  EXPECT_EQ(side.input_size, 160);
  EXPECT_FLOAT_EQ(side.mean[2], 0.5f);
  EXPECT_EQ(side.labels, dir + "/labels.txt");
  EXPECT_EQ(side.num_classes, 1000);
  EXPECT_NE(testutil::input_error_of([&] { resolve_preprocessing(dir + "/r.pth", sd, "resnet50"); }).find("sidecar says resnet18"),
            std::string::npos);
  write_file_atomic(dir + "/r.pth.json", R"({"input_size": "big"})");
  EXPECT_NE(testutil::input_error_of([&] { resolve_preprocessing(dir + "/r.pth", sd, ""); }).find("'input_size'"), std::string::npos);
  // No sidecar and a 7-class classifier: nothing to infer from.
  auto seven = make_backbone("resnet18", 7);
  save_state_dict(dir + "/s.pth", module_state(*seven));
  std::string msg = testutil::input_error_of([&] { resolve_preprocessing(dir + "/s.pth", load_state_dict(dir + "/s.pth"), ""); });
  EXPECT_NE(msg.find("7 classes"), std::string::npos) << msg;
}

TEST(SharedWeights, ClassifyTheEightImagesThroughTheProjectImageLoader) {
  std::string w = shared_mobilenet_weights();
  if (w.empty()) GTEST_SKIP() << "shared MobileNetV2 weights absent";
  std::string root = w.substr(0, w.rfind('/'));
  StateDict sd = load_state_dict(w);
  EXPECT_EQ(sd.size(), 314u);
  auto b = load_backbone(w);
  EXPECT_EQ(b.net->arch(), "mobilenet_v2");
  EXPECT_EQ(b.net->num_classes(), 1001);
  EXPECT_EQ(b.preprocessing.source, "inferred");
  EXPECT_FLOAT_EQ(b.preprocessing.mean[0], 0.5f);
  EXPECT_FLOAT_EQ(b.preprocessing.std[0], 0.5f);
  EXPECT_EQ(b.preprocessing.labels, root + "/labels_1001.txt");
  std::vector<std::string> labels = split(read_text_file(root + "/labels_1001.txt"), '\n');
  const std::vector<std::tuple<std::string, std::string, double>> expected{
      {"bird.bmp", "chickadee", 0.95},   {"cat.bmp", "Egyptian cat", 0.60},     {"dragonfly.bmp", "dragonfly", 0.96},
      {"grace_hopper.bmp", "mortarboard", 0.61}, {"hot_dog.jpg", "hotdog", 0.61}, {"owl.jpg", "ruffed grouse", 0.27},
      {"parrot.jpg", "macaw", 0.86},     {"sunflower.bmp", "daisy", 0.97}};
  std::vector<torch::Tensor> xs;
  for (const auto& e : expected) xs.push_back(image_to_tensor(load_image_rgb(root + "/images/" + std::get<0>(e)), b.preprocessing));
  torch::NoGradGuard ng;
  auto probs = torch::softmax(b.net->classify(torch::stack(xs)), 1);
  for (size_t k = 0; k < expected.size(); ++k) {
    SCOPED_TRACE(std::get<0>(expected[k]));
    int64_t top = probs[static_cast<int64_t>(k)].argmax().item<int64_t>();
    ASSERT_LT(top, static_cast<int64_t>(labels.size()));
    // labels_1001.txt lines list synonyms ("hotdog, hot dog, red hot"); the README names the first.
    EXPECT_EQ(trim(split(labels[static_cast<size_t>(top)], ',')[0]), std::get<1>(expected[k]));
    EXPECT_NEAR(probs[static_cast<int64_t>(k)][top].item<double>(), std::get<2>(expected[k]), 0.15);
  }
}

TEST(SharedWeights, PretrainedMultimodalModelCarriesTheBackboneWeights) {
  std::string w = shared_mobilenet_weights();
  if (w.empty()) GTEST_SKIP() << "shared MobileNetV2 weights absent";
  MultimodalNetOptions o;
  o.inputs = "CDM";
  o.heads = test_heads();
  o.shared_backbone = false;
  ModelBundle m = make_pretrained_model(o, w);
  EXPECT_EQ(m.preprocessing.source, "inferred");
  EXPECT_FLOAT_EQ(m.preprocessing.mean[1], 0.5f);
  StateDict sd = load_state_dict(w);
  StateDict own = module_state(*m.net);
  EXPECT_TRUE(torch::equal(find_tensor(own, "clinic_backbone.features.5.conv.1.0.weight"),
                           find_tensor(sd, "features.5.conv.1.0.weight")));
  EXPECT_TRUE(torch::equal(find_tensor(own, "derm_backbone.features.18.1.bias"), find_tensor(sd, "features.18.1.bias")));
  MultimodalNetOptions r = o;
  r.arch = "resnet18";
  EXPECT_NE(testutil::input_error_of([&] { make_pretrained_model(r, w); }).find("mobilenet_v2"), std::string::npos);
}

}  // namespace
}  // namespace skintriage
