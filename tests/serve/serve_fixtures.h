// Shared fixtures of the serve tests: saved model folders and synthetic lesion images.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>

#include "core/files.h"
#include "data/derm7pt_vocab.h"
#include "model/checkpoint.h"
#include "model/factory.h"
#include "test_util.h"

namespace skintriage::servetest {

/// A MobileNetV2 multimodal model at 224 px, randomly initialised with a fixed seed (or from the
/// shared weights when `pretrained` and they exist), saved to a fresh folder. Returns the folder.
inline std::string make_model_dir(const std::string& inputs = "CDM", std::vector<HeadSpec> heads = derm7pt_heads(),
                                  nlohmann::json extra = nlohmann::json::object(), double modality_dropout = 0.0,
                                  int crop_border = 0, const std::string& weights = "") {
  torch::manual_seed(7);
  MultimodalNetOptions o;
  o.arch = "mobilenet_v2";
  o.inputs = inputs;
  o.heads = std::move(heads);
  o.modality_dropout = modality_dropout;
  ModelBundle b = make_pretrained_model(o, weights, "auto", 224);
  b.crop_border = crop_border;
  for (auto it = extra.begin(); it != extra.end(); ++it) b.extra[it.key()] = it.value();
  std::string dir = join_path(testutil::temp_dir("serve_model"), "model");
  save_model(dir, b);
  return dir;
}


/// A skin-coloured RGB image with mild noise and, when r > 0, a dark brown lesion centred at (cx, cy).
inline cv::Mat lesion_image(int w, int h, int cx, int cy, int r, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 6.0f);
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      auto& p = img.at<cv::Vec3b>(y, x);
      p[0] = cv::saturate_cast<uchar>(214 + noise(rng));
      p[1] = cv::saturate_cast<uchar>(172 + noise(rng));
      p[2] = cv::saturate_cast<uchar>(150 + noise(rng));
    }
  if (r > 0) {
    cv::ellipse(img, cv::Point(cx, cy), cv::Size(r, r * 4 / 5), 20.0, 0, 360, cv::Scalar(92, 58, 40), cv::FILLED,
                cv::LINE_AA);
    cv::circle(img, cv::Point(cx + r / 5, cy - r / 6), r / 3, cv::Scalar(55, 35, 30), cv::FILLED, cv::LINE_AA);
  }
  return img;
}

}  // namespace skintriage::servetest
