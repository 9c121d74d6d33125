// Self-describing saved models.
//
// A model folder holds `model.json` (architecture, input set, heads with their vocabularies,
// preprocessing, calibration temperatures, decision policy, management priors, the metrics of its
// run) and `model.pth` (all weights, torch.save format). Both are written atomically; every later
// command (eval, predict, serve, agree) loads a model from the folder alone.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "model/multimodal.h"
#include "model/preprocess.h"

namespace skintriage {

struct ModelBundle {
  MultimodalNetOptions options;
  Preprocessing preprocessing;
  int crop_border = 25;          ///< pixels removed from each side before preprocessing
  MultimodalNet net{nullptr};
  /// Everything else a run attaches: "temperature": {head: T}, "policy": {...},
  /// "priors": [[P(m|d)]], "metrics": {...}, "data": {...}.
  nlohmann::json extra = nlohmann::json::object();
};

/// Writes dir/model.json and dir/model.pth atomically.
void save_model(const std::string& dir, const ModelBundle& model);
/// Loads a model folder; InputError naming the file for anything missing or inconsistent.
ModelBundle load_model(const std::string& dir);

}  // namespace skintriage
