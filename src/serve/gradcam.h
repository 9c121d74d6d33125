// Grad-CAM (Selvaraju et al. 2017) on the backbone's last convolutional feature map.
//
// The predictor runs the backbone once to get the feature map A [1,C,h,w], makes it a leaf that
// requires gradients, pools it and runs the heads from there, then asks autograd for d score / d A
// (the pre-softmax logit of the explained class). The channel weights are the spatial means of that
// gradient; the map is ReLU(sum_c w_c A_c), scaled to [0,1]. Because the gradient is taken with
// torch::autograd::grad with respect to A only, no parameter gradient is ever accumulated: it is
// safe on a model shared between threads.
#pragma once
#include <torch/torch.h>

#include <opencv2/core.hpp>

namespace skintriage {

/// Grad-CAM map [h,w] in [0,1] of `score` (a scalar depending on `feature_map`, [1,C,h,w]).
/// All zeros when no location contributes positively.
torch::Tensor grad_cam(const torch::Tensor& feature_map, const torch::Tensor& score);

/// Blends a [0,1] heatmap grid (any resolution, float CV_32F) over an 8-bit RGB image: the grid is
/// resized bilinearly to the image, coloured with the JET colour map and mixed with weight `alpha`.
cv::Mat overlay_heatmap(const cv::Mat& rgb, const cv::Mat& grid, double alpha = 0.45);

}  // namespace skintriage
