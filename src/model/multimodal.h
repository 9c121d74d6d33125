// The network of the paper (Abhishek et al. 2021, Fig. 6) and its extensions.
//
// Per image modality (clinical C, dermoscopic D): backbone -> global average pooling. The pooled
// features of the modalities in the input set are concatenated with the 14-dim one-hot metadata
// (M) and three presence flags, then each head (MGMT, DIAG, the seven criteria) is a linear layer,
// optionally after a shared hidden layer with dropout. A missing modality is zero-filled with its
// presence flag 0; training with modality dropout teaches the heads to predict without it.
#pragma once
#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "model/backbone.h"

namespace skintriage {

struct MultimodalNetOptions {
  std::string arch = "mobilenet_v2";
  std::string inputs = "CDM";          ///< one of C, CM, D, DM, CD, CDM
  std::vector<HeadSpec> heads;         ///< output heads, in order
  bool shared_backbone = true;         ///< one backbone for both image modalities
  int64_t hidden = 0;                  ///< 0: linear heads; >0: shared hidden layer of this width
  double dropout = 0.0;                ///< dropout before the heads (and after hidden)
  double modality_dropout = 0.0;       ///< training-time probability of dropping each present input
  /// Keep every backbone BatchNorm in eval mode (stored statistics) even in train(): the shared
  /// MobileNetV2 has folded BN whose features are destroyed by batch statistics.
  bool freeze_bn = true;

  bool uses_clinic() const;
  bool uses_derm() const;
  bool uses_meta() const;
  nlohmann::json to_json() const;
  static MultimodalNetOptions from_json(const nlohmann::json& j, const std::string& where);
};

/// A batch of inputs. Image tensors are [N,3,S,S] (undefined when the modality is not in the input
/// set); meta is [N,14]; the *_present masks are float [N] of 0/1.
struct MultimodalBatch {
  torch::Tensor clinic, derm, meta;
  torch::Tensor clinic_present, derm_present, meta_present;
};

/// The same batch after the backbones: pooled embeddings [N,F] instead of images (frozen-feature mode).
struct EmbeddingBatch {
  torch::Tensor clinic, derm, meta;
  torch::Tensor clinic_present, derm_present, meta_present;
};

class MultimodalNetImpl : public torch::nn::Module {
 public:
  explicit MultimodalNetImpl(const MultimodalNetOptions& options);

  /// Head name -> logits [N, classes].
  std::map<std::string, torch::Tensor> forward(const MultimodalBatch& batch);
  /// Heads on precomputed pooled embeddings (frozen-feature training and evaluation).
  std::map<std::string, torch::Tensor> forward_embeddings(const EmbeddingBatch& batch);
  /// Pooled embedding [N,F] of one modality ("clinic" or "derm").
  torch::Tensor embed(const std::string& modality, const torch::Tensor& images);
  /// The backbone used for a modality (for Grad-CAM on its feature map).
  std::shared_ptr<BackboneImpl> backbone(const std::string& modality);
  /// Width of one pooled embedding.
  int64_t embedding_dim() const;
  /// Parameters of the fusion heads only (what frozen-feature training optimises).
  std::vector<torch::Tensor> head_parameters();
  /// Parameters of the backbones only.
  std::vector<torch::Tensor> backbone_parameters();
  const MultimodalNetOptions& options() const { return options_; }
  /// Width of the fused vector the heads see (embeddings + metadata + 3 presence flags).
  int64_t fusion_dim() const;
  /// Module::train, except that backbone BatchNorm layers stay in eval mode when options().freeze_bn.
  void train(bool on = true) override;

 private:
  MultimodalNetOptions options_;
  std::shared_ptr<BackboneImpl> clinic_backbone_, derm_backbone_;
  torch::nn::Linear hidden_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  std::map<std::string, torch::nn::Linear> heads_;
};
TORCH_MODULE(MultimodalNet);

}  // namespace skintriage
