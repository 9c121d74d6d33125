// Training configuration: one struct, its JSON form, and the documented defaults.
//
// A run's settings come from three layers, later ones winning: these defaults, a JSON file
// (`--config F`), then command-line flags. The resolved struct is written as RUN/config.json and
// read back on `--resume`, so a resumed run can never silently change its settings. Unknown keys and
// out-of-range values are InputErrors naming the file and the key. Torch-free.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skintriage {

/// Image augmentation (train/augment.h), applied after crop_border and before image_to_tensor.
struct AugmentConfig {
  bool enabled = true;
  bool flip = true;               ///< random horizontal and vertical flips
  bool rotate90 = true;           ///< random multiple-of-90-degree rotation
  double crop_scale_min = 0.6;    ///< random resized crop: area fraction drawn in [min, 1]
  double crop_ratio_max = 4.0 / 3.0;  ///< aspect ratio drawn log-uniformly in [1/max, max]
  double brightness = 0.15;       ///< colour jitter: factors drawn in [1-x, 1+x]
  double contrast = 0.15;
  double saturation = 0.15;
  double hue = 0.02;              ///< hue shift as a fraction of the hue circle, in [-x, x]

  nlohmann::json to_json() const;
  /// Overlays the keys present in `j` onto this; `where` names the source in errors.
  void update_from_json(const nlohmann::json& j, const std::string& where);
};

struct TrainConfig {
  // --- what is trained
  std::string mode = "features";          ///< "features" (frozen backbone, cached embeddings) | "finetune"
  std::string inputs = "CDM";             ///< C, CM, D, DM, CD, CDM
  std::vector<std::string> heads{"MGMT"}; ///< active heads; "all" on the command line = every head of the data
  std::map<std::string, double> head_weights;  ///< loss weight per head (absent = 1)
  std::string class_weighting = "none";   ///< "none" | "balanced" (inverse class frequency on train)
  // --- optimisation
  std::string optimizer = "adamw";        ///< "adamw" | "sgd"
  double lr = 1e-3;
  double backbone_lr_scale = 0.1;         ///< fine-tune: backbone LR = lr * this
  double weight_decay = 1e-4;
  double momentum = 0.9;                  ///< SGD momentum
  int epochs = 30;
  int batch_size = 32;
  int warmup_epochs = 1;                  ///< linear warm-up, then cosine decay to 0 at the last epoch
  std::string schedule = "cosine";        ///< "cosine" | "constant" (warm-up applies to both)
  uint64_t seed = 1;                      ///< fixes init, data order, augmentation, modality dropout
  // --- model selection
  std::string selection_metric = "auto";  ///< "<HEAD>.<metric>" on valid (e.g. "MGMT.auroc_macro"),
                                          ///< "valid_loss", or "auto" = MGMT.auroc_macro when MGMT is
                                          ///< active, else the first head's auroc_macro
  int patience = 0;                       ///< early stopping after this many epochs without improvement (0 = off)
  // --- backbone and images
  std::string arch = "auto";              ///< "auto": detected from `weights` (mobilenet_v2 without weights);
                                          ///< a name is checked against the detected one
  std::string weights;                    ///< pretrained backbone .pth ("" = random init)
  std::string preprocessing = "auto";     ///< "auto" (sidecar, else inferred), "tf" or "torchvision"
  int image_size = 0;                     ///< network input side (0 = the backbone's default)
  int crop_border = -1;                   ///< pixels cut from each side of every image first
                                          ///< (-1 = the dataset's own: 25 for derm7pt, 0 for manifests)
  AugmentConfig augment;
  int feature_views = 4;                  ///< features mode: cached views per image (view 0 = unaugmented)
  std::string cache_dir;                  ///< features mode: embedding cache ("" = RUN/../.skintriage_cache,
                                          ///< "none" = memory only)
  // --- network
  int hidden = 0;                         ///< 0 = linear heads, else width of a shared hidden layer
  double dropout = 0.0;
  double modality_dropout = 0.0;
  bool shared_backbone = true;
  // --- machine
  int threads = 0;                        ///< LibTorch threads (0 = leave as set by the CLI)
  int workers = 2;                        ///< image decode / augmentation threads
  int image_cache_mb = 1024;              ///< in-memory decoded-image cache budget (fine-tune mode)
  /// > 0: the saved model decides "excise whenever P(EXC) >= t" with t chosen on the validation split as the
  /// largest threshold reaching this excision sensitivity (eval/policy.h); 0 = argmax.
  double min_excision_sensitivity = 0.0;
  bool progress = true;                   ///< progress output on stderr (bar on a terminal, lines otherwise)

  nlohmann::json to_json() const;
  /// Overlays the keys present in `j` onto this (unknown key -> InputError naming `where` and the key).
  void update_from_json(const nlohmann::json& j, const std::string& where);
  static TrainConfig from_json(const nlohmann::json& j, const std::string& where);
  /// Checks values (modes, ranges); InputError naming `where` and the field.
  void validate(const std::string& where) const;
  /// The selection metric with "auto" resolved (run_training first expands heads "all").
  std::string resolved_selection_metric() const;
  /// Loss weight of a head.
  double head_weight(const std::string& head) const;
};

/// Reads a JSON config file (InputError naming the file on parse errors or unknown keys).
TrainConfig load_train_config(const std::string& path);

}  // namespace skintriage
