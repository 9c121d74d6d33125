// `skintriage train` and `skintriage eval`: option parsing only; the work is in train/trainer.h.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/load.h"
#include "train/config.h"
#include "train/trainer.h"

namespace skintriage::cli {

using json = nlohmann::json;

namespace {

struct TrainArgs {
  std::string data, out, config;
  bool resume = false, quiet = false;
  std::string mode, inputs, heads, weights, arch, optimizer, class_weighting, selection_metric, cache_dir,
      preprocessing;
  int epochs = 0, batch_size = 0, patience = 0, feature_views = 0, workers = 0, threads = 0, crop_border = 0,
      image_size = 0, warmup_epochs = 0, hidden = 0;
  double lr = 0, weight_decay = 0, dropout = 0, modality_dropout = 0, min_excision_sensitivity = 0;
  uint64_t seed = 0;
  bool no_augment = false;
  std::vector<std::string> sets;
};

struct EvalArgs {
  std::string model, data, split = "test", out, policy;
  double min_excision_sensitivity = 0;
  bool json_out = false;
  int workers = 2;
};

// Parses "key=value" (value as JSON when it parses, else as a string) into a nested object.
json parse_set(const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) throw InputError("--set '" + kv + "': expected key=value");
  std::string key = trim(kv.substr(0, eq)), value = kv.substr(eq + 1);
  json v;
  try {
    v = json::parse(value);
  } catch (const json::parse_error&) {
    v = value;
  }
  json root = json::object();
  json* cur = &root;
  auto parts = split(key, '.');
  for (size_t i = 0; i + 1 < parts.size(); ++i) cur = &((*cur)[parts[i]] = json::object());
  (*cur)[parts.back()] = v;
  return root;
}

// Two lines: the policy and what it costs on the evaluated cases (management_operating_point's JSON).
void print_operating_point(std::ostream& o, const std::string& label, const DecisionPolicy& policy, const json& op) {
  auto num = [&](const char* k) { return op[k].is_number() ? fixed(op[k].get<double>(), 4) : std::string("n/a"); };
  o << label << " decision policy: " << describe_policy(policy) << "\n"
    << "  operating point: " << policy.excision_class << " sensitivity " << num("sensitivity") << " ("
    << op["excise_labelled"] << " cases), specificity " << num("specificity") << ", over-excision "
    << op["over_excision"] << " of " << op["other_labelled"] << " (rate " << num("over_excision_rate")
    << "), accuracy " << num("accuracy") << "\n";
}

void run_train(const TrainArgs& a, CLI::App* cmd) {
  TrainConfig cfg;
  std::string run_config = join_path(a.out, "config.json");
  if (a.resume) {
    if (!file_exists(run_config)) throw InputError(a.out + ": nothing to resume (no config.json)");
    cfg = load_train_config(run_config);
  }
  if (!a.config.empty()) {
    json j;
    try {
      j = json::parse(read_text_file(a.config));
    } catch (const json::parse_error& e) {
      throw InputError(a.config + ": not valid JSON: " + e.what());
    }
    cfg.update_from_json(j, a.config);
  }
  // Flags override the file; only the flags actually given.
  json o = json::object();
  auto given = [&](const char* name) { return cmd->get_option(name)->count() > 0; };
  if (given("--mode")) o["mode"] = a.mode;
  if (given("--inputs")) o["inputs"] = a.inputs;
  if (given("--heads")) o["heads"] = a.heads;
  if (given("--weights")) o["weights"] = a.weights;
  if (given("--arch")) o["arch"] = a.arch;
  if (given("--optimizer")) o["optimizer"] = a.optimizer;
  if (given("--class-weighting")) o["class_weighting"] = a.class_weighting;
  if (given("--selection-metric")) o["selection_metric"] = a.selection_metric;
  if (given("--cache-dir")) o["cache_dir"] = a.cache_dir;
  if (given("--preprocessing")) o["preprocessing"] = a.preprocessing;
  if (given("--epochs")) o["epochs"] = a.epochs;
  if (given("--batch-size")) o["batch_size"] = a.batch_size;
  if (given("--patience")) o["patience"] = a.patience;
  if (given("--feature-views")) o["feature_views"] = a.feature_views;
  if (given("--workers")) o["workers"] = a.workers;
  if (given("--threads")) o["threads"] = a.threads;
  if (given("--crop-border")) o["crop_border"] = a.crop_border;
  if (given("--image-size")) o["image_size"] = a.image_size;
  if (given("--warmup-epochs")) o["warmup_epochs"] = a.warmup_epochs;
  if (given("--hidden")) o["hidden"] = a.hidden;
  if (given("--lr")) o["lr"] = a.lr;
  if (given("--weight-decay")) o["weight_decay"] = a.weight_decay;
  if (given("--dropout")) o["dropout"] = a.dropout;
  if (given("--modality-dropout")) o["modality_dropout"] = a.modality_dropout;
  if (given("--min-excision-sensitivity")) o["min_excision_sensitivity"] = a.min_excision_sensitivity;
  if (given("--seed")) o["seed"] = a.seed;
  if (a.no_augment) o["augment"] = {{"enabled", false}};
  if (a.quiet) o["progress"] = false;
  cfg.update_from_json(o, "command line");
  for (const auto& kv : a.sets) cfg.update_from_json(parse_set(kv), "--set " + kv);
  cfg.validate("configuration");

  Dataset data = load_dataset(a.data);
  RunOptions ro;
  ro.resume = a.resume;
  TrainResult r = run_training(data, cfg, a.out, SplitSpec::from_dataset(data), ro);
  std::cout << "run: " << a.out << "\n"
            << "best epoch " << r.best_epoch << " of " << r.epochs_run << ", " << r.selection_metric
            << " = " << fixed(r.best_metric, 4) << " on valid\n";
  for (const char* split_name : {"valid", "test"}) {
    const json& m = r.metrics[split_name];
    for (auto it = m.begin(); it != m.end(); ++it) {
      auto num = [&](const char* k) {
        return it->contains(k) && (*it)[k].is_number() ? fixed((*it)[k].get<double>(), 4) : std::string("n/a");
      };
      std::cout << split_name << " " << it.key() << ": accuracy " << num("accuracy") << ", auroc_macro "
                << num("auroc_macro") << ", balanced_accuracy " << num("balanced_accuracy") << " (n="
                << (*it)["n"] << ")\n";
    }
  }
  if (r.policy.kind != "argmax" && r.metrics["test"].contains("MGMT") &&
      r.metrics["test"]["MGMT"].contains("decision_policy"))
    print_operating_point(std::cout, "test MGMT", r.policy, r.metrics["test"]["MGMT"]["decision_policy"]["operating_point"]);
  if (!cfg.progress) return;
  std::cerr << "time " << fixed(r.seconds, 1) << "s";
  if (cfg.mode == "features")
    std::cerr << " (features: " << r.cache_misses << " computed, " << r.cache_hits << " from cache, "
              << fixed(r.extract_seconds, 1) << "s)";
  std::cerr << "\n";
}

void run_eval(const EvalArgs& a) {
  if (!a.policy.empty() && a.min_excision_sensitivity > 0)
    throw InputError("eval: --policy and --min-excision-sensitivity exclude each other");
  if (a.min_excision_sensitivity < 0 || a.min_excision_sensitivity > 1)
    throw InputError("eval: --min-excision-sensitivity must be in [0, 1]");
  Dataset data = load_dataset(a.data);
  const std::vector<int>& positions = data.split(a.split);
  SplitPredictions preds = predict_dataset(a.model, data, positions, a.workers);
  json metrics = head_metrics(preds);

  // The decision policy: a file, one chosen now on the validation split, else the model's own (argmax by default).
  DecisionPolicy policy = saved_management_policy(a.model);
  std::string policy_source = policy.kind == "argmax" ? "default" : "model";
  if (!a.policy.empty()) {
    policy = load_policy(a.policy);
    policy_source = a.policy;
  }
  auto mgmt = preds.find("MGMT");
  if (a.min_excision_sensitivity > 0) {
    if (mgmt == preds.end()) throw InputError(a.model + ": --min-excision-sensitivity needs a model with a MGMT head");
    SplitPredictions valid = a.split == "valid" ? preds : predict_dataset(a.model, data, data.split("valid"), a.workers);
    policy = management_policy(valid.at("MGMT"), a.min_excision_sensitivity);
    policy_source = "valid";
  }
  if (mgmt != preds.end() && metrics.contains("MGMT")) {
    json op = management_operating_point(policy, mgmt->second);
    if (!op.is_null()) {
      op["source"] = policy_source;
      metrics["MGMT"]["decision_policy"] = op;
    }
  }

  std::string out = a.out.empty() ? join_path(a.model, "eval") : a.out;
  for (const auto& [name, p] : preds)
    write_head_predictions(join_path(out, name == "MGMT" ? "predictions_" + a.split + ".csv"
                                                         : "predictions_" + name + "_" + a.split + ".csv"),
                           p);
  json doc{{"model", a.model}, {"data", a.data}, {"split", a.split}, {"cases", positions.size()}, {"heads", metrics}};
  write_file_atomic(join_path(out, "metrics_" + a.split + ".json"), doc.dump(2) + "\n");
  if (a.json_out) {
    std::cout << doc.dump(2) << "\n";
    return;
  }
  std::cout << "split " << a.split << ": " << positions.size() << " cases; predictions in " << out << "\n";
  for (auto it = metrics.begin(); it != metrics.end(); ++it) {
    const json& m = *it;
    auto num = [&](const char* k) { return m.contains(k) && m[k].is_number() ? fixed(m[k].get<double>(), 4) : std::string("n/a"); };
    std::cout << it.key() << " (n=" << m["n"] << "): accuracy " << num("accuracy") << "  auroc_macro "
              << num("auroc_macro") << "  sensitivity_macro " << num("sensitivity_macro") << "  specificity_macro "
              << num("specificity_macro") << "  balanced_accuracy " << num("balanced_accuracy");
    if (it.key() == "MGMT") std::cout << "  over_excision " << m["over_excision"];
    std::cout << "\n";
  }
  if (metrics.contains("MGMT") && metrics["MGMT"].contains("decision_policy"))
    print_operating_point(std::cout, "MGMT", policy, metrics["MGMT"]["decision_policy"]["operating_point"]);
}

}  // namespace

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* t = app.add_subcommand("train", "Train a model (frozen features or fine-tuning); writes a run folder");
  t->add_option("--data", a->data, "derm7pt release folder or CSV manifest")->required();
  t->add_option("--out", a->out, "Run folder to write (config.json, log.csv, model/, predictions, metrics)")->required();
  t->add_option("--config", a->config, "JSON config file (flags override it)");
  t->add_flag("--resume", a->resume, "Continue the interrupted run in --out from its checkpoint");
  t->add_option("--mode", a->mode, "features | finetune");
  t->add_option("--inputs", a->inputs, "C, CM, D, DM, CD or CDM");
  t->add_option("--heads", a->heads, "Comma-separated heads (e.g. MGMT or DIAG or all)");
  t->add_option("--weights", a->weights, "Pretrained backbone .pth");
  t->add_option("--arch", a->arch, "Backbone architecture (auto = detected from --weights)");
  t->add_option("--preprocessing", a->preprocessing, "auto | tf | torchvision");
  t->add_option("--epochs", a->epochs, "Epochs");
  t->add_option("--lr", a->lr, "Learning rate");
  t->add_option("--batch-size", a->batch_size, "Batch size");
  t->add_option("--seed", a->seed, "Seed (init, data order, augmentation)");
  t->add_option("--optimizer", a->optimizer, "adamw | sgd");
  t->add_option("--weight-decay", a->weight_decay, "Weight decay");
  t->add_option("--warmup-epochs", a->warmup_epochs, "Linear warm-up epochs before the cosine decay");
  t->add_option("--class-weighting", a->class_weighting, "none | balanced");
  t->add_option("--selection-metric", a->selection_metric, "<HEAD>.<metric> on valid, valid_loss, or auto");
  t->add_option("--patience", a->patience, "Early stopping patience in epochs (0 = off)");
  t->add_option("--feature-views", a->feature_views, "Features mode: cached views per training image");
  t->add_option("--cache-dir", a->cache_dir, "Features mode: embedding cache folder (none = memory only)");
  t->add_option("--hidden", a->hidden, "Width of a shared hidden layer (0 = linear heads)");
  t->add_option("--dropout", a->dropout, "Dropout before the heads");
  t->add_option("--modality-dropout", a->modality_dropout, "Training-time probability of dropping an input");
  t->add_option("--min-excision-sensitivity", a->min_excision_sensitivity,
                "Save a threshold policy (P(EXC) >= t, t chosen on valid to reach this sensitivity) with the model");
  t->add_option("--crop-border", a->crop_border, "Pixels cut from each image side (-1 = the dataset's own)");
  t->add_option("--image-size", a->image_size, "Network input side (0 = the backbone's)");
  t->add_option("--workers", a->workers, "Image decoding threads");
  t->add_option("--threads", a->threads, "LibTorch threads (0 = all cores)");
  t->add_flag("--no-augment", a->no_augment, "Disable augmentation");
  t->add_flag("--quiet", a->quiet, "No progress output");
  t->add_option("--set", a->sets, "Any config key: --set augment.hue=0.05 (repeatable)");
  t->callback([a, t] { run_train(*a, t); });

  auto e = std::make_shared<EvalArgs>();
  CLI::App* ev = app.add_subcommand("eval", "Evaluate a trained model on a split: metrics of every head");
  ev->add_option("--model", e->model, "Run folder (or its model/ folder)")->required();
  ev->add_option("--data", e->data, "derm7pt release folder or CSV manifest")->required();
  ev->add_option("--split", e->split, "Split to evaluate (train, valid, test)");
  ev->add_option("--out", e->out, "Folder for predictions and metrics (default: MODEL/eval)");
  ev->add_option("--workers", e->workers, "Image decoding threads");
  ev->add_option("--policy", e->policy, "Decision policy JSON (default: the model's own, else argmax)");
  ev->add_option("--min-excision-sensitivity", e->min_excision_sensitivity,
                 "Choose a threshold policy on the valid split reaching this EXC sensitivity, report its operating "
                 "point");
  ev->add_flag("--json", e->json_out, "Print the metrics as JSON");
  ev->callback([e] { run_eval(*e); });
}

}  // namespace skintriage::cli
