// Preprocessing that travels with the weights.
//
// A weight file FILE.pth may have a sidecar FILE.pth.json naming the architecture, input size,
// colour order and normalisation. Without one, the preprocessing must be named explicitly or is
// inferred from a known convention (1001 classes: the TF-style x/127.5-1; 1000: torchvision
// ImageNet mean/std) and the choice is reported, so a backbone never silently runs on the wrong input.
#pragma once
#include <torch/torch.h>

#include <array>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>

namespace skintriage {

struct Preprocessing {
  std::string arch;                ///< backbone architecture
  int64_t input_size = 224;        ///< square side fed to the network
  std::string color_order = "RGB";
  /// Normalisation: x01 = pixel/255, then (x01 - mean) / std. TF-style x/127.5-1 is mean=std=0.5.
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  int64_t num_classes = 1000;      ///< classifier size of the weight file (0 = none)
  std::string labels;              ///< optional labels file path
  std::string source = "default";  ///< where these settings came from ("sidecar", "inferred", ...)

  nlohmann::json to_json() const;
  static Preprocessing from_json(const nlohmann::json& j, const std::string& where);
  /// Named presets: "torchvision" (ImageNet mean/std) and "tf" (x/127.5-1).
  static Preprocessing preset(const std::string& name, const std::string& arch, int64_t input_size);
};

/// Converts an 8-bit RGB image to a normalised float tensor [3, size, size]: centred square
/// crop, bilinear resize to `p.input_size`, then the mean/std normalisation.
torch::Tensor image_to_tensor(const cv::Mat& rgb, const Preprocessing& p);

}  // namespace skintriage
