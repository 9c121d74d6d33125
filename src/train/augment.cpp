#include "train/augment.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace skintriage {

uint64_t SplitMix::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SplitMix::uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

uint64_t mix_seed(uint64_t a, uint64_t b) {
  SplitMix m(a ^ (b * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL));
  m.next();
  return m.next();
}

namespace {

// Random resized crop region: area fraction in [scale_min, 1], aspect ratio log-uniform in
// [1/ratio_max, ratio_max]; up to 10 tries, then the whole image (as torchvision does).
cv::Rect random_crop_rect(int w, int h, double scale_min, double ratio_max, SplitMix& rng) {
  const double area = static_cast<double>(w) * h;
  const double log_r = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target = area * rng.uniform(scale_min, 1.0);
    double ratio = std::exp(rng.uniform(-log_r, log_r));
    int cw = static_cast<int>(std::lround(std::sqrt(target * ratio)));
    int ch = static_cast<int>(std::lround(std::sqrt(target / ratio)));
    if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
      int x = static_cast<int>(rng.below(static_cast<uint64_t>(w - cw + 1)));
      int y = static_cast<int>(rng.below(static_cast<uint64_t>(h - ch + 1)));
      return cv::Rect(x, y, cw, ch);
    }
  }
  return cv::Rect(0, 0, w, h);
}

void color_jitter(cv::Mat& rgb, const AugmentConfig& c, SplitMix& rng) {
  // Factors are drawn in a fixed order so a seed always means the same jitter.
  double b = 1.0 + rng.uniform(-c.brightness, c.brightness);
  double k = 1.0 + rng.uniform(-c.contrast, c.contrast);
  double s = 1.0 + rng.uniform(-c.saturation, c.saturation);
  double hshift = rng.uniform(-c.hue, c.hue);
  cv::Mat f;
  rgb.convertTo(f, CV_32FC3, b);
  if (c.contrast > 0) {
    cv::Mat gray;
    cv::cvtColor(f, gray, cv::COLOR_RGB2GRAY);
    double mean = cv::mean(gray)[0];
    f.convertTo(f, -1, k, (1.0 - k) * mean);
  }
  if (c.saturation > 0) {
    cv::Mat gray, gray3;
    cv::cvtColor(f, gray, cv::COLOR_RGB2GRAY);
    cv::cvtColor(gray, gray3, cv::COLOR_GRAY2RGB);
    cv::addWeighted(f, s, gray3, 1.0 - s, 0.0, f);
  }
  cv::Mat out;
  f.convertTo(out, CV_8UC3);  // saturates to [0, 255]
  if (c.hue > 0 && std::abs(hshift) > 1e-9) {
    cv::Mat hsv;
    cv::cvtColor(out, hsv, cv::COLOR_RGB2HSV_FULL);  // H in [0, 256)
    int shift = static_cast<int>(std::lround(hshift * 256.0));
    std::vector<cv::Mat> ch;
    cv::split(hsv, ch);
    cv::Mat lut(1, 256, CV_8U);
    for (int i = 0; i < 256; ++i) lut.at<uchar>(i) = static_cast<uchar>(((i + shift) % 256 + 256) % 256);
    cv::LUT(ch[0], lut, ch[0]);
    cv::merge(ch, hsv);
    cv::cvtColor(hsv, out, cv::COLOR_HSV2RGB_FULL);
  }
  rgb = out;
}

}  // namespace

cv::Mat augment_image(const cv::Mat& rgb, const AugmentConfig& config, uint64_t seed) {
  if (!config.enabled || rgb.empty()) return rgb;
  SplitMix rng(seed);
  // Draw every random number in a fixed order, whatever is enabled, so toggling one
  // transformation does not reshuffle the others.
  bool hflip = rng.uniform() < 0.5;
  bool vflip = rng.uniform() < 0.5;
  int rot = static_cast<int>(rng.below(4));
  SplitMix crop_rng(rng.next());
  SplitMix color_rng(rng.next());

  cv::Mat out = rgb;
  if (config.crop_scale_min < 1.0) {
    cv::Rect r = random_crop_rect(out.cols, out.rows, config.crop_scale_min, config.crop_ratio_max, crop_rng);
    out = out(r);
  }
  if (config.flip && (hflip || vflip)) {
    cv::Mat f;
    cv::flip(out, f, hflip && vflip ? -1 : (hflip ? 1 : 0));
    out = f;
  }
  if (config.rotate90 && rot != 0) {
    cv::Mat r;
    cv::rotate(out, r, rot == 1 ? cv::ROTATE_90_CLOCKWISE : rot == 2 ? cv::ROTATE_180 : cv::ROTATE_90_COUNTERCLOCKWISE);
    out = r;
  }
  if (config.brightness > 0 || config.contrast > 0 || config.saturation > 0 || config.hue > 0) {
    color_jitter(out, config, color_rng);  // allocates a new image: the input stays untouched
  } else if (out.datastart == rgb.datastart) {
    out = out.clone();  // never hand back a view of the caller's pixels
  }
  return out;
}

}  // namespace skintriage
