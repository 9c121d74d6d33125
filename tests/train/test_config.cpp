// TrainConfig: defaults, JSON round trip, overrides, and errors that name the field.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"
#include "test_util.h"
#include "train/config.h"

using namespace skintriage;
using json = nlohmann::json;

TEST(TrainConfig, DefaultsAreValidAndDocumented) {
  TrainConfig c;
  EXPECT_NO_THROW(c.validate("defaults"));
  EXPECT_EQ(c.mode, "features");
  EXPECT_EQ(c.inputs, "CDM");
  EXPECT_EQ(c.resolved_selection_metric(), "MGMT.auroc_macro");
  c.heads = {"DIAG"};
  EXPECT_EQ(c.resolved_selection_metric(), "DIAG.auroc_macro");
}

TEST(TrainConfig, JsonRoundTrip) {
  TrainConfig c;
  c.mode = "finetune";
  c.heads = {"MGMT", "DIAG", "PN"};
  c.head_weights = {{"DIAG", 0.5}};
  c.lr = 0.01;
  c.seed = 1234567890123ULL;
  c.augment.hue = 0.1;
  c.augment.flip = false;
  TrainConfig d = TrainConfig::from_json(c.to_json(), "mem");
  EXPECT_EQ(d.to_json(), c.to_json());
  EXPECT_EQ(d.head_weight("DIAG"), 0.5);
  EXPECT_EQ(d.head_weight("MGMT"), 1.0);
}

TEST(TrainConfig, OverlayKeepsUnsetKeys) {
  TrainConfig c;
  c.update_from_json(json{{"epochs", 7}, {"heads", "MGMT, DIAG"}, {"augment", {{"hue", 0.0}}}}, "f.json");
  EXPECT_EQ(c.epochs, 7);
  EXPECT_EQ(c.heads, (std::vector<std::string>{"MGMT", "DIAG"}));
  EXPECT_EQ(c.augment.hue, 0.0);
  EXPECT_EQ(c.augment.brightness, TrainConfig().augment.brightness);
  EXPECT_EQ(c.batch_size, TrainConfig().batch_size);
}

static std::string error_of(const json& j) {
  return testutil::input_error_of([&] { TrainConfig::from_json(j, "cfg.json"); });
}

TEST(TrainConfig, ErrorsNameFileAndField) {
  std::string e = error_of(json{{"learning_rate", 0.1}});
  EXPECT_NE(e.find("cfg.json"), std::string::npos) << e;
  EXPECT_NE(e.find("learning_rate"), std::string::npos) << e;
  e = error_of(json{{"mode", "magic"}});
  EXPECT_NE(e.find("mode"), std::string::npos) << e;
  EXPECT_NE(e.find("magic"), std::string::npos) << e;
  e = error_of(json{{"epochs", "ten"}});
  EXPECT_NE(e.find("epochs"), std::string::npos) << e;
  e = error_of(json{{"lr", -1.0}});
  EXPECT_NE(e.find("lr"), std::string::npos) << e;
  e = error_of(json{{"inputs", "XY"}});
  EXPECT_NE(e.find("inputs"), std::string::npos) << e;
  e = error_of(json{{"augment", {{"rotate", true}}}});
  EXPECT_NE(e.find("augment.rotate"), std::string::npos) << e;
  e = error_of(json{{"heads", {"MGMT"}}, {"selection_metric", "DIAG.accuracy"}});
  EXPECT_NE(e.find("selection_metric"), std::string::npos) << e;
  e = error_of(json{{"heads", {"MGMT", "MGMT"}}});
  EXPECT_NE(e.find("twice"), std::string::npos) << e;
  e = error_of(json{{"seed", -3}});
  EXPECT_NE(e.find("seed"), std::string::npos) << e;
  EXPECT_EQ(error_of(json{{"heads", {"DIAG"}}, {"selection_metric", "DIAG.accuracy"}}), "");
  e = error_of(json{{"min_excision_sensitivity", 1.5}});
  EXPECT_NE(e.find("min_excision_sensitivity"), std::string::npos) << e;
  EXPECT_EQ(error_of(json{{"min_excision_sensitivity", 0.95}}), "");
}

TEST(TrainConfig, LoadsFileAndRejectsBadJson) {
  std::string dir = testutil::temp_dir("cfg");
  std::string good = join_path(dir, "good.json"), bad = join_path(dir, "bad.json");
  write_file_atomic(good, R"({"mode": "finetune", "epochs": 3, "optimizer": "sgd"})");
  write_file_atomic(bad, R"({"mode": "finetune", )");
  TrainConfig c = load_train_config(good);
  EXPECT_EQ(c.mode, "finetune");
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.optimizer, "sgd");
  try {
    load_train_config(bad);
    FAIL() << "bad JSON accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
  }
}
