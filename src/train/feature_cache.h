// Image inputs for training and prediction: the decoded-image store and the frozen-feature cache.
//
// ImageStore decodes an image once (through data/image.h), crops its border and keeps it in memory
// while the total stays under a byte budget, so fine-tuning epochs after the first do not decode again.
//
// FeatureCache holds pooled backbone embeddings for frozen-feature training. View 0 of an image is
// the unaugmented image; view v > 0 is augment_image() with a seed derived from the image content and
// v. An entry's key hashes everything the numbers depend on: the backbone's actual weights (every
// parameter and buffer byte, so a random init, a different file or a fine-tuned backbone never
// collide), the preprocessing, the crop border, the augmentation settings and the image file's bytes.
// A stale entry is therefore impossible: change any of them and the key changes. Entries live in a
// process-wide memory map (reused across the ~30 trainings of an experiment) and, when a folder is
// given, on disk as <dir>/<key>.bin (one file per image with all its computed views, written
// atomically; a truncated or foreign file is recomputed).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "model/preprocess.h"
#include "train/config.h"

namespace skintriage {

class ImageStore {
 public:
  ImageStore(int crop_border, size_t budget_bytes) : crop_border_(crop_border), budget_(budget_bytes) {}
  /// The border-cropped RGB image (shared: callers must not modify its pixels). Thread-safe.
  cv::Mat get(const std::string& path);
  size_t bytes() const { return bytes_; }

 private:
  int crop_border_;
  size_t budget_, bytes_ = 0;
  std::mutex mu_;
  std::map<std::string, cv::Mat> images_;
};

/// One image to tensor: optional augmentation (seeded), then image_to_tensor. `augment` may be null.
torch::Tensor prepare_image(const cv::Mat& cropped, const Preprocessing& pre, const AugmentConfig* augment,
                            uint64_t seed);

/// Hash (hex) of a module's parameters and buffers: names, shapes and bytes.
std::string module_hash(const torch::nn::Module& module);

/// What a cached embedding depends on besides the image bytes and the view.
struct FeatureSettings {
  std::string backbone_hash;   ///< module_hash of the backbone
  Preprocessing preprocessing;
  int crop_border = 0;
  AugmentConfig augment;       ///< used for views > 0
  /// The key prefix string (hashed with the image content hash into the entry key).
  std::string describe() const;
};

class FeatureCache {
 public:
  /// `disk_dir` "" keeps entries in memory only.
  explicit FeatureCache(std::string disk_dir);

  /// Embeds images [B,3,S,S] -> [B,F] (called from the calling thread only, under no-grad).
  using EmbedFn = std::function<torch::Tensor(const torch::Tensor&)>;

  /// Embeddings of `paths`: result[i] is a float tensor [views[i], F] (views 0..views[i]-1). What is not
  /// cached is computed in batches of `batch` images with `workers` decoding threads.
  std::vector<torch::Tensor> embeddings(const std::vector<std::string>& paths, const std::vector<int>& views,
                                        const FeatureSettings& settings, const EmbedFn& embed, int workers,
                                        int batch, bool progress);

  long hits() const { return hits_; }      ///< views served from memory or disk by this object
  long misses() const { return misses_; }  ///< views computed by this object
  double compute_seconds() const { return compute_seconds_; }

  /// Drops the process-wide memory entries (tests of the disk layer).
  static void clear_memory();

 private:
  std::string dir_;
  long hits_ = 0, misses_ = 0;
  double compute_seconds_ = 0;
};

}  // namespace skintriage
