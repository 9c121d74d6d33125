// `skintriage experiment`: the paper's protocol (official split, ablation, cross-validation) end to end.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "eval/policy.h"
#include "data/load.h"
#include "train/config.h"
#include "train/experiment.h"

namespace skintriage::cli {

void register_experiment(CLI::App& app) {
  struct Options {
    std::string data, out, config, weights, mode, priors = "train", policy;
    double min_excision_sensitivity = -1;
    int features_hidden = 128;
    int seeds = 1, folds = 3, epochs = 0, batch_size = 0, bootstrap = 2000;
    double lr = 0, cv_valid_fraction = 0;
    long seed = -1;
    bool no_cv = false, no_ablation = false, no_report = false, no_progress = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "experiment", "Run the paper's protocol: MGMT_infr / MGMT_pred / MGMT_multi, ablation, cross-validation");
  cmd->add_option("--data", opt->data, "derm7pt release folder or CSV manifest")->required();
  cmd->add_option("--out", opt->out, "Experiment folder to write (results.json, results.md, report.html, runs/)")
      ->required();
  cmd->add_option("--config", opt->config, "Training config JSON (defaults for every training)");
  cmd->add_option("--weights", opt->weights, "Pretrained backbone .pth");
  cmd->add_option("--mode", opt->mode, "features (frozen backbone, cached embeddings) or finetune")
      ->check(CLI::IsMember({"features", "finetune"}));
  cmd->add_option("--seeds", opt->seeds, "Trainings per model (ensembled; mean \u00b1 std reported)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--seed", opt->seed, "First seed (folds, splits, trainings)");
  cmd->add_option("--folds", opt->folds, "Cross-validation folds")->check(CLI::Range(2, 20));
  cmd->add_flag("--no-cv", opt->no_cv, "Official split only");
  cmd->add_flag("--no-ablation", opt->no_ablation, "Skip the Table 4 input ablation");
  cmd->add_option("--priors", opt->priors,
                  "MGMT_infr management priors: train (default), all (the paper's setting, leaks test labels) or FILE");
  cmd->add_option("--epochs", opt->epochs, "Epochs per training")->check(CLI::Range(1, 100000));
  cmd->add_option("--lr", opt->lr, "Learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", opt->batch_size, "Batch size")->check(CLI::Range(1, 100000));
  cmd->add_option("--bootstrap", opt->bootstrap, "Bootstrap resamples for 95% CIs (0 = none)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--cv-valid-fraction", opt->cv_valid_fraction,
                  "Share of each CV training part used for validation (default: the official split's)");
  cmd->add_option("--features-hidden", opt->features_hidden,
                  "Features mode: shared hidden layer width when the config has linear heads (0 = linear heads)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--policy", opt->policy, "Decision policy JSON whose operating point every model reports "
                                           "(default argmax)");
  cmd->add_option("--min-excision-sensitivity", opt->min_excision_sensitivity,
                  "Per model, choose a threshold on P(EXC) on its validation part reaching this excision "
                  "sensitivity and report its test operating point")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--no-report", opt->no_report, "Do not write report.html");
  cmd->add_flag("--no-progress", opt->no_progress, "No per-epoch progress output");
  cmd->callback([opt]() {
    ExperimentOptions o;
    if (!opt->config.empty()) o.base = load_train_config(opt->config);
    if (!opt->weights.empty()) o.base.weights = opt->weights;
    if (!opt->mode.empty()) o.base.mode = opt->mode;
    if (opt->epochs > 0) o.base.epochs = opt->epochs;
    if (opt->lr > 0) o.base.lr = opt->lr;
    if (opt->batch_size > 0) o.base.batch_size = opt->batch_size;
    if (opt->seed >= 0) o.base.seed = static_cast<uint64_t>(opt->seed);
    if (opt->no_progress) o.base.progress = false;
    if (opt->min_excision_sensitivity >= 0) o.base.min_excision_sensitivity = opt->min_excision_sensitivity;
    if (!opt->policy.empty() && o.base.min_excision_sensitivity > 0)
      throw InputError("experiment: --policy and --min-excision-sensitivity exclude each other");
    if (!opt->policy.empty()) o.policy = load_policy(opt->policy);
    o.out_dir = opt->out;
    o.seeds = opt->seeds;
    o.folds = opt->no_cv ? 0 : opt->folds;
    o.ablation = !opt->no_ablation;
    o.priors = opt->priors;
    o.bootstrap = opt->bootstrap;
    o.cv_valid_fraction = opt->cv_valid_fraction;
    o.report = !opt->no_report;
    o.features_hidden = opt->features_hidden;
    Dataset data = load_dataset(opt->data);
    run_experiment(data, o);
    std::cout << "wrote " << opt->out << "/results.json, results.md" << (o.report ? ", report.html" : "") << "\n";
  });
}

}  // namespace skintriage::cli
