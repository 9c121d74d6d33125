// Augmentation: deterministic for a seed, different across seeds, never touches its input.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "train/augment.h"

using namespace skintriage;

static cv::Mat gradient_image(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 255 / w), uchar(y * 255 / h), uchar((x * y) % 251));
  return m;
}

static bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

TEST(Augment, SameSeedSamePixels) {
  cv::Mat img = gradient_image(120, 80);
  AugmentConfig c;
  for (uint64_t seed : {1ULL, 2ULL, 99ULL}) EXPECT_TRUE(same(augment_image(img, c, seed), augment_image(img, c, seed)));
}

TEST(Augment, SeedsDifferAndInputUntouched) {
  cv::Mat img = gradient_image(120, 80), copy = img.clone();
  AugmentConfig c;
  int distinct = 0;
  cv::Mat first = augment_image(img, c, 1);
  for (uint64_t seed = 2; seed < 12; ++seed) distinct += same(first, augment_image(img, c, seed)) ? 0 : 1;
  EXPECT_GE(distinct, 9);
  EXPECT_TRUE(same(img, copy));
}

TEST(Augment, DisabledIsIdentity) {
  cv::Mat img = gradient_image(64, 48);
  AugmentConfig c;
  c.enabled = false;
  EXPECT_TRUE(same(augment_image(img, c, 5), img));
}

TEST(Augment, GeometryOnlyKeepsPixelValues) {
  // Without colour jitter and crop, flips/rotations only permute pixels: the sorted values are equal.
  cv::Mat img = gradient_image(50, 30);
  AugmentConfig c;
  c.brightness = c.contrast = c.saturation = c.hue = 0;
  c.crop_scale_min = 1.0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    cv::Mat out = augment_image(img, c, seed);
    EXPECT_EQ(out.total(), img.total());
    EXPECT_TRUE((out.cols == 50 && out.rows == 30) || (out.cols == 30 && out.rows == 50));
    EXPECT_EQ(cv::sum(out), cv::sum(img));
  }
}

TEST(Augment, CropStaysInsideAndAboveMinimumArea) {
  cv::Mat img = gradient_image(200, 100);
  AugmentConfig c;
  c.flip = c.rotate90 = false;
  c.brightness = c.contrast = c.saturation = c.hue = 0;
  c.crop_scale_min = 0.5;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    cv::Mat out = augment_image(img, c, seed);
    EXPECT_LE(out.cols, 200);
    EXPECT_LE(out.rows, 100);
    EXPECT_GE(out.total(), static_cast<size_t>(0.5 * 200 * 100 * 0.97));
  }
}

TEST(Augment, SplitMixIsStableAndUniform) {
  SplitMix a(42), b(42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
  SplitMix r(7);
  double sum = 0;
  for (int i = 0; i < 20000; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 20000, 0.5, 0.01);
  EXPECT_NE(mix_seed(1, 2), mix_seed(2, 1));
}
