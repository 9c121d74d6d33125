// Building backbones and multimodal models from pretrained weight files, with the weights'
// preprocessing resolved once, here.
//
// The preprocessing of a weight file FILE.pth comes, in this order, from: its sidecar
// (FILE.pth.json, or FILE.json), an explicit preset ("tf" / "torchvision"), or the file's class
// count (1001 -> "tf" x/127.5-1, 1000 -> torchvision mean/std, recorded as source "inferred").
// Anything else is an InputError: a backbone never silently runs on the wrong input.
#pragma once
#include <memory>
#include <string>

#include "model/backbone.h"
#include "model/checkpoint.h"
#include "model/preprocess.h"
#include "model/state_dict.h"

namespace skintriage {

/// Path of the sidecar of a weight file (FILE.pth.json, else FILE.json), "" when there is none.
std::string find_sidecar(const std::string& weights_path);

/// Class count of a torchvision state dict's classifier (0 when it has none).
int64_t classifier_classes(const StateDict& state, const std::string& arch);

/// Preprocessing for a weight file. `arch`: "" to use the sidecar's or the detected one.
/// `mode`: "auto" (sidecar, else inferred), "tf" or "torchvision" (explicit, overrides the
/// sidecar's normalisation). `input_size` 0 keeps the sidecar's / the backbone's default.
Preprocessing resolve_preprocessing(const std::string& weights_path, const StateDict& state, const std::string& arch,
                                    const std::string& mode = "auto", int64_t input_size = 0);

struct PretrainedBackbone {
  std::shared_ptr<BackboneImpl> net;  ///< in eval mode, weights loaded (strict)
  Preprocessing preprocessing;
};

/// Loads a torchvision-style weight file into its backbone. `arch` "" detects it from the tensor
/// names (InputError when it cannot, or when it contradicts the sidecar). with_classifier=false
/// builds a features-only backbone and ignores the file's classifier.
PretrainedBackbone load_backbone(const std::string& weights_path, const std::string& arch = "",
                                 bool with_classifier = true, const std::string& mode = "auto");

/// A multimodal model whose backbone(s) start from `weights_path` (classifier skipped); an empty
/// path gives random initialisation with torchvision preprocessing. `input_size` 0 = the
/// backbone's default. The net is returned in eval mode.
ModelBundle make_pretrained_model(const MultimodalNetOptions& options, const std::string& weights_path,
                                  const std::string& mode = "auto", int64_t input_size = 0);

}  // namespace skintriage
