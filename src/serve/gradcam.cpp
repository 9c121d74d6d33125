#include "serve/gradcam.h"

#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace skintriage {

torch::Tensor grad_cam(const torch::Tensor& feature_map, const torch::Tensor& score) {
  if (!feature_map.defined() || feature_map.dim() != 4 || feature_map.size(0) != 1)
    throw std::invalid_argument("grad_cam: feature map must be [1,C,h,w]");
  auto grads = torch::autograd::grad({score}, {feature_map}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  torch::NoGradGuard no_grad;
  const auto h = feature_map.size(2), w = feature_map.size(3);
  if (!grads[0].defined()) return torch::zeros({h, w});
  auto weights = grads[0].mean({2, 3}, /*keepdim=*/true);          // [1,C,1,1]
  auto cam = torch::relu((weights * feature_map.detach()).sum(1))[0];  // [h,w]
  auto peak = cam.max().item<float>();
  if (!(peak > 0.0f)) return torch::zeros({h, w});
  return (cam / peak).contiguous();
}

cv::Mat overlay_heatmap(const cv::Mat& rgb, const cv::Mat& grid, double alpha) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw std::invalid_argument("overlay_heatmap: need 8-bit RGB");
  cv::Mat g;
  grid.convertTo(g, CV_32F);
  cv::Mat up;
  cv::resize(g, up, rgb.size(), 0, 0, cv::INTER_LINEAR);
  cv::Mat u8;
  up.convertTo(u8, CV_8U, 255.0);
  cv::Mat colored_bgr, colored;
  cv::applyColorMap(u8, colored_bgr, cv::COLORMAP_JET);
  cv::cvtColor(colored_bgr, colored, cv::COLOR_BGR2RGB);
  cv::Mat out;
  cv::addWeighted(rgb, 1.0 - alpha, colored, alpha, 0.0, out);
  return out;
}

}  // namespace skintriage
