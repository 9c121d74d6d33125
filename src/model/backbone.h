// ImageNet backbones as LibTorch modules with torchvision's exact parameter and buffer names,
// so a torchvision state_dict() maps onto them 1:1.
//
// Every backbone exposes `features(x)`: the last convolutional feature map [N, C, h, w] (what the
// multimodal network pools and what Grad-CAM differentiates), and, when built with classes,
// `classify(x)`: logits [N, classes] computed exactly as torchvision's forward() in eval mode.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace skintriage {

class BackboneImpl : public torch::nn::Module {
 public:
  /// Last convolutional feature map [N, feature_dim(), h, w].
  virtual torch::Tensor features(const torch::Tensor& x) = 0;
  /// Logits of the ImageNet-style classifier; throws when built without one.
  virtual torch::Tensor classify(const torch::Tensor& x) = 0;
  /// Channels of the feature map (1280 mobilenet_v2, 512 resnet18, 2048 resnet50/inception_v3).
  virtual int64_t feature_dim() const = 0;
  /// torchvision's standard input side (224, or 299 for inception_v3).
  virtual int64_t default_input_size() const = 0;
  /// Architecture name as accepted by make_backbone.
  virtual std::string arch() const = 0;
  /// Number of classifier outputs, 0 when built without a classifier.
  virtual int64_t num_classes() const = 0;
  /// Name prefixes (as in the state dict) of the classifier parameters, e.g. {"classifier."} or {"fc."}.
  virtual std::vector<std::string> classifier_prefixes() const = 0;
};

/// "mobilenet_v2", "resnet18", "resnet50", "inception_v3".
const std::vector<std::string>& backbone_architectures();

/// Builds a backbone; num_classes 0 builds it without classifier (features only).
/// InputError for an unknown architecture.
std::shared_ptr<BackboneImpl> make_backbone(const std::string& arch, int64_t num_classes);

}  // namespace skintriage
