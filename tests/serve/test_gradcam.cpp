// Grad-CAM localises: a head trained (in seconds, on frozen pretrained features) to tell a dark
// lesion from plain skin lights up the corner where the lesion is, wherever that corner is.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "model/preprocess.h"
#include "serve/gradcam.h"
#include "serve/predictor.h"
#include "serve_fixtures.h"

using namespace skintriage;
using servetest::lesion_image;

namespace {

// Fraction of the heatmap's mass in each quadrant: [top-left, top-right, bottom-left, bottom-right].
std::array<double, 4> quadrant_mass(const Heatmap& h) {
  std::array<double, 4> q{};
  double total = 0;
  for (int y = 0; y < h.grid_h; ++y)
    for (int x = 0; x < h.grid_w; ++x) {
      double v = h.grid[static_cast<size_t>(y * h.grid_w + x)];
      // The centre row/column of an odd grid belongs to no quadrant.
      if (2 * x + 1 == h.grid_w || 2 * y + 1 == h.grid_h) continue;
      int qi = (y * 2 >= h.grid_h ? 2 : 0) + (x * 2 >= h.grid_w ? 1 : 0);
      q[static_cast<size_t>(qi)] += v;
      total += v;
    }
  for (auto& v : q) v = total > 0 ? v / total : 0;
  return q;
}

}  // namespace

TEST(GradCam, MapIsReluOfGradientWeightedChannels) {
  // score = sum_c a_c * mean(A_c): the gradient is a_c / (h w), so the map is ReLU(sum_c a_c A_c) / max.
  auto A = torch::rand({1, 3, 4, 5}).requires_grad_(true);
  auto a = torch::tensor({1.0f, -2.0f, 0.5f});
  auto score = (A.mean({2, 3})[0] * a).sum();
  auto cam = grad_cam(A, score);
  auto expect = torch::relu((A.detach()[0] * a.view({3, 1, 1})).sum(0));
  expect = expect / expect.max();
  EXPECT_TRUE(torch::allclose(cam, expect, 1e-5, 1e-6));
  // A score that no location raises gives an all-zero map, not a division by zero.
  auto none = grad_cam(A, -(A.mean()));
  EXPECT_EQ(none.max().item<float>(), 0.0f);
}

TEST(GradCam, HeatmapFollowsTheLesion) {
  std::string weights = testutil::shared_mobilenet_weights();
  if (weights.empty()) GTEST_SKIP() << "shared MobileNetV2 weights absent";
  torch::manual_seed(3);
  MultimodalNetOptions o;
  o.arch = "mobilenet_v2";
  o.inputs = "D";
  for (const auto& h : derm7pt_heads())
    if (h.name == "MGMT") o.heads.push_back(h);
  ModelBundle b = make_pretrained_model(o, weights, "auto", 224);
  b.crop_border = 0;

  // Training set: lesions anywhere (EXC) versus plain skin (NONE), frozen features.
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> pos(40, 184), rad(22, 34);
  std::vector<torch::Tensor> xs;
  std::vector<int64_t> ys;
  for (int i = 0; i < 40; ++i) {
    bool lesion = i % 2 == 0;
    cv::Mat img = lesion_image(224, 224, pos(rng), pos(rng), lesion ? rad(rng) : 0, 100 + static_cast<unsigned>(i));
    xs.push_back(image_to_tensor(img, b.preprocessing));
    ys.push_back(lesion ? 2 : 0);
  }
  torch::Tensor emb;
  {
    torch::NoGradGuard ng;
    emb = b.net->embed("derm", torch::stack(xs));
  }
  auto y = torch::tensor(ys);
  auto params = b.net->head_parameters();
  for (auto& p : params) p.set_requires_grad(true);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < 150; ++step) {
    EmbeddingBatch e;
    e.derm = emb;
    e.derm_present = torch::ones({emb.size(0)});
    auto logits = b.net->forward_embeddings(e).at("MGMT");
    auto loss = torch::nn::functional::cross_entropy(logits, y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  std::string dir = join_path(testutil::temp_dir("gradcam"), "model");
  save_model(dir, b);

  Predictor p(dir);
  PredictOptions po;
  po.heatmaps = true;
  po.explain = {"MGMT", "EXC"};
  const int c_lo = 56, c_hi = 168;
  struct Corner {
    const char* name;
    int x, y, quadrant;
  } corners[] = {{"top-left", c_lo, c_lo, 0}, {"top-right", c_hi, c_lo, 1},
                 {"bottom-left", c_lo, c_hi, 2}, {"bottom-right", c_hi, c_hi, 3}};
  for (const auto& c : corners) {
    CaseInput in;
    in.derm = lesion_image(224, 224, c.x, c.y, 30, 999);
    auto r = p.predict(in, po);
    EXPECT_EQ(r.decision, "EXC") << c.name;
    ASSERT_EQ(r.heatmaps.size(), 1u);
    auto q = quadrant_mass(r.heatmaps[0]);
    for (int k = 0; k < 4; ++k)
      if (k != c.quadrant)
        EXPECT_GT(q[static_cast<size_t>(c.quadrant)], q[static_cast<size_t>(k)])
            << c.name << ": quadrant masses " << q[0] << " " << q[1] << " " << q[2] << " " << q[3];
    EXPECT_GT(q[static_cast<size_t>(c.quadrant)], 0.4) << c.name;
    // The hottest cell lies in the lesion's quadrant too.
    const auto& g = r.heatmaps[0].grid;
    int best = static_cast<int>(std::max_element(g.begin(), g.end()) - g.begin());
    int bx = best % 7, by = best / 7;
    EXPECT_EQ((by >= 4 ? 2 : 0) + (bx >= 4 ? 1 : 0), c.quadrant) << c.name << " peak at " << bx << "," << by;
  }
}
