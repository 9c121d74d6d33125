// One case in, a management decision a clinician can inspect out.
//
// A Predictor loads a self-describing model folder (model/checkpoint.h) once and predicts single
// cases: an optional clinical photo, an optional dermoscopic image and optional metadata
// (sex / location / elevation in derm7pt's vocabulary). It applies the model's own border crop
// and preprocessing, the calibration temperatures stored with the model, the decision policy
// (argmax or a P(EXC) threshold, eval/policy.h), and reports every head: management with its
// decision, diagnosis, the seven criteria with their grouped classes and the derived seven-point
// score. Test-time augmentation averages the probabilities over dihedral views (flips and 90-degree
// rotations) and reports their spread as an uncertainty figure. Grad-CAM heatmaps (gradcam.h) are
// computed on request for the management decision or any chosen head/class.
//
// Thread safety: after construction a Predictor is immutable. predict() may be called concurrently
// from any number of threads on one shared instance: the network is in eval mode, its parameters
// do not require gradients (Grad-CAM differentiates with torch::autograd::grad with respect to the
// feature map only, so nothing accumulates into shared .grad buffers), and every call builds its own
// tensors under its own grad mode guard. Nothing mutable is shared, so no lock is needed.
//
// Torch stays out of this header (pimpl) so the server and CLI need not include it.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace skintriage {

/// The inputs of one case. Empty images / empty strings mean "missing".
struct CaseInput {
  std::string id;                ///< echoed in the output (batch mode), may be empty
  cv::Mat clinic;                ///< 8-bit RGB (data/image.h), empty = missing
  cv::Mat derm;                  ///< 8-bit RGB, empty = missing
  std::string sex, location, elevation;  ///< derm7pt vocabulary; "" = unknown
  /// Alternatively a ready one-hot (e.g. from a manifest); used when `has_meta_vector`.
  bool has_meta_vector = false;
  std::array<float, kMetaDims> meta_vector{};
};

/// Which head/class Grad-CAM explains.
struct ExplainTarget {
  std::string head;  ///< "" = the management decision (MGMT, or DIAG for a priors-only model)
  std::string cls;   ///< "" = the head's decided / argmax class
};

struct PredictOptions {
  int tta = 1;                    ///< dihedral views averaged (1..8): id, hflip, vflip, rot90, rot180, rot270, transpose, anti-transpose
  bool heatmaps = false;          ///< compute Grad-CAM for each input image
  ExplainTarget explain;          ///< what the heatmaps explain
  bool allow_missing = false;     ///< predict with a missing input even if the model was not trained for it
  /// Decision policy overriding the model's own (eval/policy.h JSON form); null = the model's.
  nlohmann::json policy;
};

/// A Grad-CAM result for one input image.
struct Heatmap {
  std::string modality;          ///< "clinic" or "derm"
  std::string head, cls;         ///< what it explains
  int grid_w = 0, grid_h = 0;    ///< feature-map resolution
  std::vector<float> grid;       ///< row-major grid_h x grid_w, in [0,1] (1 = most relevant)
  /// The square region of the (border-cropped) input image the network saw, in input pixels.
  int crop_x = 0, crop_y = 0, crop_side = 0;
  std::string overlay_png;       ///< the network's view of the image with the heatmap blended over it
};

struct Prediction {
  nlohmann::json json;           ///< everything, as `skintriage predict --json` prints it (heatmaps excluded)
  std::string decision;          ///< management decision class (e.g. "EXC")
  std::map<std::string, std::vector<double>> probabilities;  ///< head -> calibrated mean probabilities
  std::vector<Heatmap> heatmaps;
};

class Predictor {
 public:
  /// Loads `model_dir` (model.json + model.pth); InputError naming the file when it cannot.
  explicit Predictor(const std::string& model_dir);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  /// Predicts one case. InputError for unusable input (no image for an image-only model, an
  /// unknown metadata value, a missing input the model was not trained to do without, ...).
  Prediction predict(const CaseInput& input, const PredictOptions& options = {}) const;

  /// Model card: architecture, input set, heads and vocabularies, preprocessing, calibration,
  /// policy and the metrics of its run.
  nlohmann::json model_card() const;

  /// Heads of the model, in output order.
  const std::vector<HeadSpec>& heads() const;
  bool uses_clinic() const;
  bool uses_derm() const;
  bool uses_meta() const;
  /// Whether the model was trained to do without a missing input (modality dropout).
  bool supports_missing() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Seven-point checklist points of a criterion head's grouped class (e.g. PN/ATP -> 2, VS/IR -> 2,
/// STR/IR -> 1, RS/PRS -> 1); derived from data/derm7pt_vocab.h's seven_point_score. 0 for others.
int seven_point_points(const std::string& head, const std::string& cls);

}  // namespace skintriage
