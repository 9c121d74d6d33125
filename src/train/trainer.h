// Training a MultimodalNet on a Dataset, in-process, and predicting with a saved run.
//
// run_training() is what both `skintriage train` and the experiment protocol call. It trains in one
// of two modes:
//  - "features": the backbone is frozen; its pooled embeddings of every image (view 0 unaugmented,
//    views 1.. augmented) are computed once and cached on disk and in memory (train/feature_cache.h),
//    and only fusion + heads train — seconds per epoch;
//  - "finetune": the backbone trains too (BatchNorm kept in eval mode, the shared weights have folded
//    BN), images decoded and augmented by worker threads ahead of compute.
// Every epoch it evaluates the validation split, keeps the best model by the selection metric,
// writes log.csv and an atomic checkpoint; at the end it fits a temperature per head on valid and
// writes the run folder of docs/run-layout.md. Randomness of epoch e is derived from (seed, e) only,
// so `resume` reproduces an uninterrupted run exactly. Torch-free header.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "eval/policy.h"
#include "train/config.h"

namespace skintriage {

/// Which cases train, select and test. Positions index Dataset::cases.
struct SplitSpec {
  std::vector<int> train, valid, test;
  /// The dataset's own "train"/"valid"/"test" splits (test may be absent -> empty).
  static SplitSpec from_dataset(const Dataset& data);
};

/// One head's outputs over a list of cases (calibrated probabilities unless stated).
struct HeadPredictions {
  HeadSpec head;
  std::vector<std::string> case_ids;
  std::vector<int> labels;                  ///< class index, -1 when the case has no label for the head
  std::vector<std::vector<double>> probs;   ///< [case][class], temperature-scaled softmax
  std::vector<std::vector<double>> logits;  ///< [case][class], raw (before temperature)
};

/// Head name -> predictions.
using SplitPredictions = std::map<std::string, HeadPredictions>;

struct TrainResult {
  std::string run_dir;
  int best_epoch = 0;                   ///< 1-based epoch of the selected model
  int epochs_run = 0;                   ///< epochs actually run (early stopping may cut them)
  double best_metric = 0.0;             ///< selection metric of the best epoch on valid
  std::string selection_metric;         ///< its name (e.g. "MGMT.auroc_macro")
  std::map<std::string, double> temperature;  ///< fitted per head on valid
  DecisionPolicy policy;                ///< management decision policy saved with the model (argmax by default)
  SplitPredictions valid, test;         ///< of the best model, calibrated
  nlohmann::json metrics;               ///< what metrics.json holds: {"valid": {head: {...}}, "test": {...}}
  double seconds = 0.0;                 ///< wall time of this call
  double extract_seconds = 0.0;         ///< features mode: time spent computing embeddings
  int cache_hits = 0, cache_misses = 0; ///< features mode: embedding cache statistics of this call
};

struct RunOptions {
  bool resume = false;     ///< continue from RUN/checkpoint.* (the saved config must match)
  int stop_after_epochs = 0;  ///< >0: stop after this many epochs as if interrupted (tests of resume)
  bool write_predictions = true;  ///< write predictions_*.csv and metrics.json
};

/// Trains and writes the run folder. InputError for bad configs/data (naming the field), never a
/// crash. With options.resume it continues from the last checkpoint to the same result.
TrainResult run_training(const Dataset& data, const TrainConfig& config, const std::string& run_dir,
                         const SplitSpec& split, const RunOptions& options = {});

/// Predicts every head of a saved model (a run folder or its model/ subfolder) on `positions` of
/// `data`, with the model's temperature applied. `workers` image-decoding threads.
SplitPredictions predict_dataset(const std::string& model_dir, const Dataset& data,
                                 const std::vector<int>& positions, int workers = 2);

/// Metrics of every head (eval/metrics.h), only over cases labelled for that head: {head: {...}}.
nlohmann::json head_metrics(const SplitPredictions& predictions);

/// A management decision policy: "excise whenever P(EXC) >= t" with t the largest threshold that reaches
/// `min_sensitivity` on the labelled cases of `valid` when it is > 0, else argmax. InputError when the head has
/// no EXC class or `valid` no EXC-labelled case.
DecisionPolicy management_policy(const HeadPredictions& valid, double min_sensitivity);

/// {"policy": {...}, "operating_point": {...}} (eval/policy.h) of `policy` on the labelled cases of a management
/// head; null when the head has no EXC class or no labelled case.
nlohmann::json management_operating_point(const DecisionPolicy& policy, const HeadPredictions& predictions);

/// The decision policy saved in a model (or run) folder's model.json; argmax when it has none.
DecisionPolicy saved_management_policy(const std::string& model_dir);

/// Writes one head's predictions in the eval predictions CSV format (labelled cases only).
void write_head_predictions(const std::string& path, const HeadPredictions& predictions);

/// The model.json + model.pth folder inside a run folder (or `path` itself when it holds model.json).
std::string resolve_model_dir(const std::string& path);

}  // namespace skintriage
