// The paper's experimental protocol: `skintriage experiment`.
//
// On one dataset it trains (Abhishek et al. 2021):
//  - MGMT_infr: a DIAG model whose management is inferred as P(m|x) = sum_d P(d|x) P(m|d), priors from
//    the training split by default (`priors` = "train" | "all" | FILE; the paper's numbers are only
//    consistent with priors over all cases, which leaks test labels);
//  - MGMT_pred: the management head alone; MGMT_multi: all heads (7 criteria + DIAG + MGMT);
//  all on inputs CDM, on the official split (Tables 2 and 3), MGMT_multi again for the input subsets
//  C, CM, D, DM, CD (Table 4; CDM is MGMT_multi itself), and the three models in k-fold cross-validation
//  (folds stratified by management over all cases, a validation part carved from each training part,
//  all fixed by the seed). Each training can be repeated with several seeds: the mean probabilities
//  are scored as an ensemble and the per-seed metrics summarised as mean +- std.
// It writes DIR/results.json (shape in docs/results.md), DIR/results.md, DIR/report.html and one run
// folder per training under DIR/runs/ (docs/run-layout.md). Torch-free header.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "eval/policy.h"
#include "train/config.h"
#include "train/trainer.h"

namespace skintriage {

struct ExperimentOptions {
  std::string out_dir;
  TrainConfig base;              ///< mode, epochs, weights, optimiser...; heads and inputs are set per model
  int seeds = 1;                 ///< trainings per model (seeds base.seed, base.seed+1, ...)
  int folds = 3;                 ///< cross-validation folds; 0 = official split only
  bool ablation = true;          ///< Table 4 input subsets
  std::string priors = "train";  ///< MGMT_infr priors: "train", "all" or a file
  double cv_valid_fraction = 0;  ///< share of each CV training part used for validation; 0 = the official
                                 ///< split's valid / (train + valid), or 0.25 when it has none
  int bootstrap = 2000;          ///< resamples for the 95% CIs (0 = no CIs)
  bool report = true;            ///< write report.html at the end
  /// Features mode with linear heads (base.hidden == 0): width of the shared hidden layer every model gets.
  /// Without one, frozen features make MGMT_multi's management head train exactly like MGMT_pred's (the heads
  /// share no parameter), so multi-task learning could not matter. 0 keeps linear heads.
  int features_hidden = 128;
  /// Management decision policy whose operating point each model reports ("decision_policy" in results.json).
  /// base.min_excision_sensitivity > 0 replaces it by a threshold chosen per model on its validation split.
  DecisionPolicy policy;
};

/// Runs the whole protocol and writes the experiment folder; returns results.json's content.
/// InputError when the data lack MGMT/DIAG labels or a split, naming what is missing.
nlohmann::json run_experiment(const Dataset& data, const ExperimentOptions& options);

/// k folds over `positions`, stratified by `labels[i]` (label of positions[i]); deterministic for `seed`.
/// Each class's cases are shuffled and dealt round-robin, so fold sizes differ by at most one per class.
std::vector<std::vector<int>> stratified_folds(const std::vector<int>& positions, const std::vector<int>& labels,
                                               int k, uint64_t seed);

/// The train/valid/test positions of fold `fold` (0-based): test = that fold; valid = a stratified
/// `valid_fraction` of the rest; train = the remainder. Deterministic for `seed`.
SplitSpec cv_split(const Dataset& data, const std::vector<std::vector<int>>& folds, int fold, double valid_fraction,
                   uint64_t seed);

}  // namespace skintriage
