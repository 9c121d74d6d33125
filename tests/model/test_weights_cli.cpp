// `skintriage weights inspect` and `skintriage classify`, run as a user would.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "oracle.h"
#include "test_util.h"

namespace skintriage {
namespace {

using namespace testutil;

nlohmann::json parse_json_output(const std::string& out) {
  auto at = out.find('{');
  EXPECT_NE(at, std::string::npos) << out;
  return nlohmann::json::parse(out.substr(at == std::string::npos ? 0 : at));
}

TEST(WeightsCli, InspectReportsTensorsArchitectureAndPreprocessing) {
  if (oracle_dir().empty()) GTEST_SKIP() << "python3 with torch+torchvision unavailable";
  std::string out;
  std::string file = oracle_dir() + "/resnet18.pth";
  ASSERT_EQ(run_command(cli_binary() + " weights inspect --json " + file, out), 0) << out;
  auto j = parse_json_output(out);
  EXPECT_EQ(j["architecture"], "resnet18");
  EXPECT_EQ(j["num_classes"], 1000);
  EXPECT_EQ(j["count"], 122);  // torchvision resnet18 state_dict entries
  EXPECT_EQ(j["parameters"].get<int64_t>() > 11000000, true);
  EXPECT_EQ(j["tensors"][0]["name"], "conv1.weight");
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json({64, 3, 7, 7}));
  EXPECT_EQ(j["preprocessing"]["source"], "inferred");
  EXPECT_EQ(j["sidecar"], "");
  ASSERT_EQ(run_command(cli_binary() + " weights inspect " + oracle_dir() + "/inception_v3.pth", out), 0) << out;
  EXPECT_NE(out.find("architecture: inception_v3"), std::string::npos) << out;
  EXPECT_NE(out.find("AuxLogits.fc.weight [1000, 768] Float"), std::string::npos);
}

TEST(WeightsCli, BadFilesExitWithCode2AndNameTheFile) {
  std::string dir = temp_dir("model_cli");
  write_file_atomic(dir + "/junk.pth", "not weights");
  std::string out;
  EXPECT_EQ(run_command(cli_binary() + " weights inspect " + dir + "/junk.pth", out), 2) << out;
  EXPECT_NE(out.find("junk.pth"), std::string::npos) << out;
  EXPECT_EQ(run_command(cli_binary() + " classify --weights " + dir + "/junk.pth " + dir + "/x.jpg", out), 2) << out;
}

TEST(WeightsCli, ClassifySharedWeightsWithLogits) {
  std::string d = shared_dir();
  std::string w = shared_mobilenet_weights();
  if (w.empty()) GTEST_SKIP() << "shared MobileNetV2 weights absent";
  std::string img = d + "/weights/mobilenet_v2_imagenet/images/";
  std::string out;
  ASSERT_EQ(run_command(cli_binary() + " classify --weights " + w + " --top 3 --json " + img + "parrot.jpg " + img +
                            "sunflower.bmp",
                        out),
            0)
      << out;
  auto j = parse_json_output(out);
  EXPECT_EQ(j["arch"], "mobilenet_v2");
  ASSERT_EQ(j["images"].size(), 2u);
  auto first_name = [](const nlohmann::json& l) { return l.get<std::string>().substr(0, l.get<std::string>().find(',')); };
  EXPECT_EQ(first_name(j["images"][0]["top"][0]["label"]), "macaw");
  EXPECT_EQ(first_name(j["images"][1]["top"][0]["label"]), "daisy");
  EXPECT_EQ(j["images"][0]["top"].size(), 3u);
  EXPECT_EQ(j["images"][0]["logits"].size(), 1001u);
  EXPECT_EQ(j["preprocessing"]["source"], "inferred");
  // Text output and a labels file that does not fit.
  ASSERT_EQ(run_command(cli_binary() + " classify --weights " + w + " --top 1 " + img + "bird.bmp", out), 0) << out;
  EXPECT_NE(out.find("1. chickadee"), std::string::npos) << out;
  EXPECT_NE(out.find("preprocessing inferred"), std::string::npos) << out;
  std::string dir = temp_dir("model_cli_labels");
  write_file_atomic(dir + "/l.txt", "a\nb\n");
  EXPECT_EQ(run_command(cli_binary() + " classify --weights " + w + " --labels " + dir + "/l.txt " + img + "bird.bmp", out), 2);
  EXPECT_NE(out.find("2 labels, but the classifier has 1001 classes"), std::string::npos) << out;
  EXPECT_EQ(run_command(cli_binary() + " classify --weights " + w + " --arch resnet18 " + img + "bird.bmp", out), 2);
}

}  // namespace
}  // namespace skintriage
