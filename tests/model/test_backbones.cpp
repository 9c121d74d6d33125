// Conformance of the four backbones with torchvision, and the .pth reader/writer.
#include <algorithm>
#include <gtest/gtest.h>

#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "model/backbone.h"
#include "model/factory.h"
#include "model/state_dict.h"
#include "oracle.h"
#include "test_util.h"

namespace skintriage::testutil {

std::string oracle_script() { return source_dir() + "/tests/tools/model_oracle.py"; }

// CTest runs every test in its own process, so the fixtures are generated once into the working
// folder (the build tree), keyed by the oracle script's hash, under a file lock.
const std::string& oracle_dir() {
  static std::string dir;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string key = hash_hex(read_text_file(oracle_script()) + python());
    std::string root = std::filesystem::absolute("model_oracle_cache").string();
    std::string done = root + "/" + key;
    if (std::filesystem::exists(done + "/zoo.json")) {
      dir = done;
      return;
    }
    if (!python_has("torch, torchvision")) return;
    make_dirs(root);
    int lock = ::open((root + "/lock").c_str(), O_CREAT | O_RDWR, 0644);
    if (lock >= 0) ::flock(lock, LOCK_EX);
    if (!std::filesystem::exists(done + "/zoo.json")) {
      std::string work = done + ".partial";
      std::filesystem::remove_all(work);
      std::filesystem::remove_all(done);
      make_dirs(work);
      std::string out;
      int rc = run_command(python() + " " + oracle_script() + " make " + work, out);
      if (rc != 0) {
        ADD_FAILURE() << "model_oracle.py make failed:\n" << out;
      } else {
        std::filesystem::rename(work, done);
      }
    }
    if (lock >= 0) ::close(lock);
    if (std::filesystem::exists(done + "/zoo.json")) dir = done;
  });
  return dir;
}

torch::Tensor find_tensor(const StateDict& sd, const std::string& name) {
  for (const auto& [n, t] : sd)
    if (n == name) return t;
  return {};
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace skintriage::testutil

namespace skintriage {
namespace {

using namespace testutil;

#define REQUIRE_ORACLE()                                                          \
  if (oracle_dir().empty()) GTEST_SKIP() << "python3 with torch+torchvision unavailable"

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, MatchesTorchvisionLogitsAndFeatureMap) {
  REQUIRE_ORACLE();
  const std::string arch = GetParam();
  std::string weights = oracle_dir() + "/" + arch + ".pth";
  StateDict sd = load_state_dict(weights);
  EXPECT_EQ(detect_architecture(sd), arch);
  StateDict ref = load_state_dict(oracle_dir() + "/" + arch + "_ref.pth");
  auto net = make_backbone(arch, 1000);
  load_into(*net, sd, LoadOptions{}, weights);
  // Every tensor of the module came from the file, including BN buffers.
  EXPECT_EQ(module_state(*net).size(), sd.size());
  net->eval();
  torch::NoGradGuard ng;
  auto x = find_tensor(ref, "input");
  ASSERT_TRUE(x.defined());
  auto feats = net->features(x);
  auto logits = net->classify(x);
  EXPECT_EQ(feats.size(1), net->feature_dim());
  // Our convolutions run channels-last (other kernels, other summation order than the NCHW reference), so the
  // tolerance is float32 round-off relative to the output's scale: random-init ResNet-50 features reach ~360
  // and Inception-v3's ~3e11, where 1e-4 absolute would demand bit-identical kernels.
  auto tolerance = [](const torch::Tensor& r) { return std::max(1e-4, 1e-5 * r.abs().max().item<double>()); };
  auto ref_feats = find_tensor(ref, "features"), ref_logits = find_tensor(ref, "logits");
  EXPECT_LT(max_abs_diff(feats, ref_feats), tolerance(ref_feats));
  EXPECT_LT(max_abs_diff(logits, ref_logits), tolerance(ref_logits));
  // The logits are not trivially small: the comparison means something.
  EXPECT_GT(find_tensor(ref, "logits").abs().max().item<double>(), 0.01);
}

INSTANTIATE_TEST_SUITE_P(AllBackbones, Conformance,
                         ::testing::Values("mobilenet_v2", "resnet18", "resnet50", "inception_v3"));

TEST(StateDict, TorchvisionFileIsAnOrderedDictWithMetadataInFileOrder) {
  REQUIRE_ORACLE();
  StateDict sd = load_state_dict(oracle_dir() + "/mobilenet_v2.pth");
  ASSERT_EQ(sd.size(), 314u);  // 52 BN x 5 + 52 convs + classifier weight/bias
  EXPECT_EQ(sd.front().first, "features.0.0.weight");
  EXPECT_EQ(sd.back().first, "classifier.1.bias");
  // Same order as the module's own state (torchvision and LibTorch register alike).
  auto net = make_backbone("mobilenet_v2", 1000);
  StateDict own = module_state(*net);
  ASSERT_EQ(own.size(), sd.size());
  for (size_t k = 0; k < own.size(); ++k) EXPECT_EQ(own[k].first, sd[k].first);
  EXPECT_EQ(find_tensor(sd, "features.1.conv.2.num_batches_tracked").scalar_type(), torch::kInt64);
}

TEST(StateDict, LegacyFormatLoadsTheSameTensors) {
  REQUIRE_ORACLE();
  StateDict zip = load_state_dict(oracle_dir() + "/mobilenet_v2.pth");
  StateDict legacy = load_state_dict(oracle_dir() + "/mobilenet_v2_legacy.pth");
  ASSERT_EQ(zip.size(), legacy.size());
  for (size_t k = 0; k < zip.size(); ++k) {
    EXPECT_EQ(zip[k].first, legacy[k].first);
    EXPECT_TRUE(torch::equal(zip[k].second, legacy[k].second)) << zip[k].first;
  }
}

TEST(StateDict, ZooOfDtypesViewsParametersAndNestedDicts) {
  REQUIRE_ORACLE();
  StateDict sd = load_state_dict(oracle_dir() + "/zoo.pth");
  auto expected = nlohmann::json::parse(read_text_file(oracle_dir() + "/zoo.json"));
  ASSERT_EQ(sd.size(), expected.size());
  const std::map<std::string, torch::ScalarType> dtypes{
      {"float32", torch::kFloat32}, {"float64", torch::kFloat64}, {"float16", torch::kFloat16},
      {"int64", torch::kInt64},     {"int32", torch::kInt32},     {"uint8", torch::kUInt8},
      {"int8", torch::kInt8},       {"bool", torch::kBool}};
  for (const auto& [name, t] : sd) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected.contains(name));
    const auto& e = expected[name];
    EXPECT_EQ(t.scalar_type(), dtypes.at(e["dtype"].get<std::string>()));
    EXPECT_EQ(t.sizes().vec(), e["shape"].get<std::vector<int64_t>>());
    auto values = e["values"].get<std::vector<double>>();
    auto flat = t.to(torch::kFloat64).flatten().contiguous();
    ASSERT_EQ(flat.numel(), static_cast<int64_t>(values.size()));
    for (size_t k = 0; k < values.size(); ++k) EXPECT_EQ(flat[static_cast<int64_t>(k)].item<double>(), values[k]);
  }
  EXPECT_TRUE(find_tensor(sd, "nested.b.c").defined());
}

TEST(StateDict, SaveRoundTripsInCppAndLoadsInPython) {
  std::string dir = temp_dir("model_sd");
  StateDict state{{"a", torch::randn({3, 4})},
                  {"b.long", torch::tensor(std::vector<int64_t>{1, -5, 7000000000}, torch::kInt64)},
                  {"c.scalar", torch::tensor(2.5, torch::kFloat64)},
                  {"d.view", torch::arange(12, torch::kFloat32).reshape({3, 4}).t()},
                  {"e.bool", torch::tensor({true, false})},
                  {"f.empty", torch::zeros({0, 2})},
                  {"g.half", torch::tensor({1.5, -0.25}).to(torch::kFloat16)}};
  std::string path = dir + "/s.pth";
  save_state_dict(path, state);
  StateDict back = load_state_dict(path);
  ASSERT_EQ(back.size(), state.size());
  for (size_t k = 0; k < state.size(); ++k) {
    EXPECT_EQ(back[k].first, state[k].first);
    EXPECT_EQ(back[k].second.scalar_type(), state[k].second.scalar_type());
    EXPECT_TRUE(torch::equal(back[k].second, state[k].second)) << state[k].first;
  }
  if (!python_has("torch")) GTEST_SKIP() << "python3 torch unavailable";
  std::string out;
  ASSERT_EQ(run_command(python() + " " + oracle_script() + " describe " + path, out), 0) << out;
  auto j = nlohmann::json::parse(out.substr(out.find('{')));
  ASSERT_EQ(j.size(), state.size());
  for (const auto& [name, t] : state) {
    SCOPED_TRACE(name);
    EXPECT_EQ(j[name]["shape"].get<std::vector<int64_t>>(), t.sizes().vec());
    EXPECT_NEAR(j[name]["sum"].get<double>(), t.to(torch::kFloat64).sum().item<double>(), 1e-6);
  }
}

TEST(StateDict, CppSavedBackboneLoadsStrictIntoTorchvision) {
  REQUIRE_ORACLE();
  // A C++ resnet18 with 7 classes, weights random, saved by save_state_dict; torchvision loads it
  // strictly and reproduces the C++ logits.
  torch::manual_seed(3);
  auto net = make_backbone("resnet18", 7);
  net->eval();
  auto x = torch::randn({2, 3, 64, 64});
  torch::Tensor logits;
  {
    torch::NoGradGuard ng;
    logits = net->classify(x);
  }
  std::string dir = temp_dir("model_py");
  save_state_dict(dir + "/w.pth", module_state(*net));
  save_state_dict(dir + "/ref.pth", {{"input", x}, {"logits", logits}});
  std::string out;
  ASSERT_EQ(run_command(python() + " " + oracle_script() + " check-model " + dir + "/w.pth " + dir +
                            "/ref.pth resnet18 7",
                        out),
            0)
      << out;
  auto j = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_LT(j["max_abs_diff"].get<double>(), 1e-4);
}

TEST(LoadInto, ListsEveryMissingUnexpectedAndWrongShapedTensorInOneError) {
  REQUIRE_ORACLE();
  std::string path = oracle_dir() + "/mobilenet_v2.pth";
  StateDict sd = load_state_dict(path);
  // Wrong classifier size: both classifier tensors are wrong-shaped.
  auto ten = make_backbone("mobilenet_v2", 10);
  std::string msg = testutil::input_error_of([&] { load_into(*ten, sd, LoadOptions{}, path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 wrong-shaped"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wrong shape: classifier.1.weight: file [1000,1280], model [10,1280]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wrong shape: classifier.1.bias"), std::string::npos) << msg;
  // ... which skipping the classifier allows (fine-tuning to new classes), leaving the head untouched.
  auto before = find_tensor(module_state(*ten), "classifier.1.weight").clone();
  LoadOptions skip;
  skip.skip_prefixes = ten->classifier_prefixes();
  load_into(*ten, sd, skip, path);
  EXPECT_TRUE(torch::equal(before, find_tensor(module_state(*ten), "classifier.1.weight")));
  EXPECT_TRUE(torch::equal(find_tensor(sd, "features.3.conv.1.0.weight"),
                           find_tensor(module_state(*ten), "features.3.conv.1.0.weight")));

  // Missing and unexpected tensors, all listed.
  StateDict edited;
  for (const auto& kv : sd)
    if (kv.first != "features.0.0.weight" && kv.first != "features.17.conv.3.running_var") edited.push_back(kv);
  edited.emplace_back("extra.weight", torch::zeros({2}));
  auto net = make_backbone("mobilenet_v2", 1000);
  msg = testutil::input_error_of([&] { load_into(*net, edited, LoadOptions{}, "edited.pth"); });
  EXPECT_NE(msg.find("2 missing, 1 unexpected, 0 wrong-shaped"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing: features.0.0.weight [32,3,3,3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing: features.17.conv.3.running_var [320]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected: extra.weight [2]"), std::string::npos) << msg;
  // Non-strict loading tolerates them (but never wrong shapes).
  LoadOptions loose;
  loose.strict = false;
  EXPECT_NO_THROW(load_into(*net, edited, loose, "edited.pth"));

  // A file of another architecture: hundreds of problems, one error naming what the file is.
  auto r18 = make_backbone("resnet18", 1000);
  msg = testutil::input_error_of([&] { load_into(*r18, sd, LoadOptions{}, path); });
  EXPECT_NE(msg.find("the file looks like mobilenet_v2"), std::string::npos);
  EXPECT_NE(msg.find("missing: layer4.1.bn2.running_var"), std::string::npos);
  EXPECT_NE(msg.find("unexpected: features.18.1.weight"), std::string::npos);
}

TEST(LoadBackbone, DetectsArchitectureAndRejectsContradictions) {
  REQUIRE_ORACLE();
  std::string path = oracle_dir() + "/resnet18.pth";
  auto b = load_backbone(path);
  EXPECT_EQ(b.net->arch(), "resnet18");
  EXPECT_EQ(b.net->num_classes(), 1000);
  EXPECT_EQ(b.preprocessing.source, "inferred");
  EXPECT_FLOAT_EQ(b.preprocessing.mean[0], 0.485f);
  auto f = load_backbone(path, "resnet18", /*with_classifier=*/false);
  EXPECT_EQ(f.net->num_classes(), 0);
  EXPECT_THROW(f.net->classify(torch::zeros({1, 3, 64, 64})), InputError);
  std::string msg = testutil::input_error_of([&] { load_backbone(path, "resnet50"); });
  EXPECT_NE(msg.find("resnet18, not resnet50"), std::string::npos) << msg;
}

TEST(StateDict, UnreadableFilesGiveInputErrorsNamingTheFile) {
  std::string dir = temp_dir("model_bad");
  EXPECT_NE(testutil::input_error_of([&] { load_state_dict(dir + "/absent.pth"); }).find("absent.pth"), std::string::npos);
  write_file_atomic(dir + "/text.pth", "hello, I am not a weight file");
  EXPECT_NE(testutil::input_error_of([&] { load_state_dict(dir + "/text.pth"); }).find("not a PyTorch weight file"), std::string::npos);
  // A truncated archive.
  save_state_dict(dir + "/good.pth", {{"w", torch::randn({64, 64})}});
  std::string bytes = read_text_file(dir + "/good.pth");
  write_file_atomic(dir + "/cut.pth", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(testutil::input_error_of([&] { load_state_dict(dir + "/cut.pth"); }).find("cut.pth"), std::string::npos);
  // A pickle whose opcodes are garbage after the protocol header.
  write_file_atomic(dir + "/junk.pth", std::string("\x80\x02\xff\xfe", 4));
  EXPECT_NE(testutil::input_error_of([&] { load_state_dict(dir + "/junk.pth"); }).find("junk.pth"), std::string::npos);
  EXPECT_THROW(make_backbone("vgg16", 10), InputError);
}

TEST(Backbones, ShapesAndDefaultsWithoutWeights) {
  torch::NoGradGuard ng;
  for (const auto& arch : backbone_architectures()) {
    SCOPED_TRACE(arch);
    auto net = make_backbone(arch, 5);
    net->eval();
    int64_t s = arch == "inception_v3" ? 80 : 64;
    auto f = net->features(torch::randn({1, 3, s, s}));
    EXPECT_EQ(f.size(1), net->feature_dim());
    EXPECT_EQ(net->classify(torch::randn({1, 3, s, s})).sizes(), (std::vector<int64_t>{1, 5}));
    EXPECT_EQ(net->arch(), arch);
    EXPECT_EQ(net->default_input_size(), arch == "inception_v3" ? 299 : 224);
    EXPECT_THROW(net->features(torch::randn({1, 1, s, s})), InputError);
  }
}

}  // namespace
}  // namespace skintriage
