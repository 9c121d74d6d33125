// Image augmentation with OpenCV, applied to 8-bit RGB after crop_border and before
// image_to_tensor: random flips, 90-degree rotations, a random resized crop (the crop region is
// returned; image_to_tensor resizes it) and colour jitter (brightness, contrast, saturation, hue).
//
// Randomness comes from a seed per call (SplitMix64, with our own uniform transform), so the same
// (image, seed) gives the same pixels on every platform: the frozen-feature cache keys a view by
// its seed, and fine-tuning derives each sample's seed from (run seed, epoch, case, modality).
// Torch-free.
#pragma once
#include <cstdint>
#include <opencv2/core.hpp>

#include "train/config.h"

namespace skintriage {

/// Small deterministic generator (SplitMix64).
class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t next();
  /// Uniform in [0, 1).
  double uniform();
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  uint64_t state_;
};

/// Mixes values into one seed (order matters).
uint64_t mix_seed(uint64_t a, uint64_t b);

/// Augments an 8-bit RGB image; returns a new image (the input is not modified). With
/// `config.enabled` false the input is returned unchanged (a shallow copy).
cv::Mat augment_image(const cv::Mat& rgb, const AugmentConfig& config, uint64_t seed);

}  // namespace skintriage
