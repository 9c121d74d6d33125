// torchvision's mobilenet_v2, resnet18/50 and inception_v3, rebuilt with the same module tree so
// that every parameter and buffer has torchvision's state_dict name. Numbered children
// ("features.0.0.weight") come from torch::nn::Sequential, which names its children "0", "1", ...
#include "model/backbone.h"

#include "core/error.h"

namespace skintriage {

namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, std::vector<int64_t> k, std::vector<int64_t> stride,
                std::vector<int64_t> pad, int64_t groups = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).groups(groups).bias(false));
}

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t groups = 1) {
  return conv(in, out, std::vector<int64_t>{k, k}, {stride, stride}, {pad, pad}, groups);
}

torch::Tensor global_pool(const torch::Tensor& map) {
  return torch::adaptive_avg_pool2d(map, {1, 1}).flatten(1);
}

void require_classifier(int64_t classes, const std::string& arch) {
  if (classes <= 0) throw InputError(arch + ": backbone was built without a classifier (features only)");
}

// Checks the batch shape and returns it in channels-last (NHWC) layout: with NHWC weights (see
// make_backbone) oneDNN runs its convolutions without reordering activations on every call, measured
// 1.6x (ResNet-50) to 2.6x (MobileNetV2) faster batch-32 feature extraction on 2 cores
// (docs/performance.md).
torch::Tensor channels_last_input(const torch::Tensor& x, int64_t min_side, const std::string& arch) {
  if (x.dim() != 4 || x.size(1) != 3)
    throw InputError(arch + ": expected an image batch [N,3,H,W], got " + c10::str(x.sizes()));
  if (x.size(2) < min_side || x.size(3) < min_side)
    throw InputError(arch + ": input " + std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) +
                     " is smaller than the minimum " + std::to_string(min_side) + "x" + std::to_string(min_side));
  return x.contiguous(at::MemoryFormat::ChannelsLast);
}

// Stores every convolution weight in channels-last layout. Loading a state dict copies into these
// tensors (copy_ keeps the layout) and saving writes contiguous copies, so files are unchanged.
std::shared_ptr<BackboneImpl> with_channels_last_weights(std::shared_ptr<BackboneImpl> net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  return net;
}

// A Sequential with a plain forward(Tensor), so it can itself sit inside a Sequential.
class SeqImpl : public nn::SequentialImpl {
 public:
  using nn::SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(Seq);

// ---------------------------------------------------------------- mobilenet_v2

// Conv2dNormActivation: Sequential(conv "0", bn "1", relu6 "2").
Seq conv_bn_relu6(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups = 1) {
  return Seq(conv(in, out, k, stride, (k - 1) / 2, groups), nn::BatchNorm2d(out),
                        nn::ReLU6(nn::ReLU6Options()));
}

class InvertedResidualImpl : public nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand) {
    use_residual_ = stride == 1 && in == out;
    int64_t hidden = in * expand;
    Seq layers;
    if (expand != 1) layers->push_back(conv_bn_relu6(in, hidden, 1, 1));
    layers->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden));
    layers->push_back(conv(hidden, out, 1, 1, 0));
    layers->push_back(nn::BatchNorm2d(out));
    conv_ = register_module("conv", layers);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return use_residual_ ? x + conv_->forward(x) : conv_->forward(x);
  }

 private:
  bool use_residual_ = false;
  Seq conv_{nullptr};
};
TORCH_MODULE(InvertedResidual);

class MobileNetV2Impl : public BackboneImpl {
 public:
  explicit MobileNetV2Impl(int64_t classes) : classes_(classes) {
    const int64_t settings[7][4] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                    {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
    nn::Sequential f;
    int64_t channels = 32;
    f->push_back(conv_bn_relu6(3, channels, 3, 2));
    for (const auto& s : settings) {
      for (int64_t i = 0; i < s[2]; ++i) {
        f->push_back(InvertedResidual(channels, s[1], i == 0 ? s[3] : 1, s[0]));
        channels = s[1];
      }
    }
    f->push_back(conv_bn_relu6(channels, 1280, 1, 1));
    features_ = register_module("features", f);
    if (classes > 0)
      classifier_ = register_module(
          "classifier", nn::Sequential(nn::Dropout(0.2), nn::Linear(1280, classes)));
  }
  torch::Tensor features(const torch::Tensor& x) override {
    return features_->forward(channels_last_input(x, 32, arch()));
  }
  torch::Tensor classify(const torch::Tensor& x) override {
    require_classifier(classes_, arch());
    return classifier_->forward(global_pool(features(x)));
  }
  int64_t feature_dim() const override { return 1280; }
  int64_t default_input_size() const override { return 224; }
  std::string arch() const override { return "mobilenet_v2"; }
  int64_t num_classes() const override { return classes_; }
  std::vector<std::string> classifier_prefixes() const override { return {"classifier."}; }

 private:
  int64_t classes_;
  nn::Sequential features_{nullptr}, classifier_{nullptr};
};

// ---------------------------------------------------------------- resnet

class ResBlockImpl : public nn::Module {
 public:
  // bottleneck=false: BasicBlock (expansion 1); true: Bottleneck (expansion 4, stride on conv2).
  ResBlockImpl(int64_t in, int64_t planes, int64_t stride, bool bottleneck) : bottleneck_(bottleneck) {
    int64_t out = bottleneck ? planes * 4 : planes;
    if (bottleneck) {
      conv1_ = register_module("conv1", conv(in, planes, 1, 1, 0));
      bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, stride, 1));
      bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
      conv3_ = register_module("conv3", conv(planes, out, 1, 1, 0));
      bn3_ = register_module("bn3", nn::BatchNorm2d(out));
    } else {
      conv1_ = register_module("conv1", conv(in, planes, 3, stride, 1));
      bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, 1, 1));
      bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
    }
    if (stride != 1 || in != out)
      downsample_ = register_module("downsample", Seq(conv(in, out, 1, stride, 0), nn::BatchNorm2d(out)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = bn2_->forward(conv2_->forward(y));
    if (bottleneck_) y = bn3_->forward(conv3_->forward(torch::relu(y)));
    auto identity = downsample_ ? downsample_->forward(x) : x;
    return torch::relu(y + identity);
  }

 private:
  bool bottleneck_;
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  Seq downsample_{nullptr};
};
TORCH_MODULE(ResBlock);

class ResNetImpl : public BackboneImpl {
 public:
  ResNetImpl(std::string name, std::vector<int64_t> blocks, bool bottleneck, int64_t classes)
      : name_(std::move(name)), classes_(classes) {
    conv1_ = register_module("conv1", conv(3, 64, 7, 2, 3));
    bn1_ = register_module("bn1", nn::BatchNorm2d(64));
    int64_t in = 64;
    const int64_t planes[4] = {64, 128, 256, 512};
    for (size_t l = 0; l < 4; ++l) {
      nn::Sequential layer;
      for (int64_t b = 0; b < blocks[l]; ++b) {
        layer->push_back(ResBlock(in, planes[l], (b == 0 && l > 0) ? 2 : 1, bottleneck));
        in = bottleneck ? planes[l] * 4 : planes[l];
      }
      layers_.push_back(register_module("layer" + std::to_string(l + 1), layer));
    }
    dim_ = in;
    if (classes > 0) fc_ = register_module("fc", nn::Linear(in, classes));
  }
  torch::Tensor features(const torch::Tensor& x) override {
    auto y = torch::relu(bn1_->forward(conv1_->forward(channels_last_input(x, 32, arch()))));
    y = torch::max_pool2d(y, 3, 2, 1);
    for (auto& layer : layers_) y = layer->forward(y);
    return y;
  }
  torch::Tensor classify(const torch::Tensor& x) override {
    require_classifier(classes_, arch());
    return fc_->forward(global_pool(features(x)));
  }
  int64_t feature_dim() const override { return dim_; }
  int64_t default_input_size() const override { return 224; }
  std::string arch() const override { return name_; }
  int64_t num_classes() const override { return classes_; }
  std::vector<std::string> classifier_prefixes() const override { return {"fc."}; }

 private:
  std::string name_;
  int64_t classes_;
  int64_t dim_ = 0;
  nn::Conv2d conv1_{nullptr};
  nn::BatchNorm2d bn1_{nullptr};
  std::vector<nn::Sequential> layers_;
  nn::Linear fc_{nullptr};
};

// ---------------------------------------------------------------- inception_v3

class BasicConv2dImpl : public nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, std::vector<int64_t> k, std::vector<int64_t> stride = {1, 1},
                  std::vector<int64_t> pad = {0, 0}) {
    conv_ = register_module("conv", conv(in, out, k, stride, pad));
    bn_ = register_module("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(0.001)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(bn_->forward(conv_->forward(x))); }

 private:
  nn::Conv2d conv_{nullptr};
  nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(BasicConv2d);

BasicConv2d bc(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t pad = 0) {
  return BasicConv2d(in, out, std::vector<int64_t>{k, k}, std::vector<int64_t>{stride, stride},
                     std::vector<int64_t>{pad, pad});
}
BasicConv2d bc(int64_t in, int64_t out, std::vector<int64_t> k, std::vector<int64_t> pad) {
  return BasicConv2d(in, out, std::move(k), std::vector<int64_t>{1, 1}, std::move(pad));
}

torch::Tensor avg3(const torch::Tensor& x) { return torch::avg_pool2d(x, 3, 1, 1); }

// All inception blocks keep their branches in a name -> module map so forward can look them up.
class InceptionBlock : public nn::Module {
 protected:
  void add(const std::string& name, BasicConv2d m) { b_.emplace(name, register_module(name, m)); }
  torch::Tensor run(const std::string& name, const torch::Tensor& x) { return b_.at(name)->forward(x); }
  std::map<std::string, BasicConv2d> b_;
};

class InceptionAImpl : public InceptionBlock {
 public:
  InceptionAImpl(int64_t in, int64_t pool_features) {
    add("branch1x1", bc(in, 64, 1));
    add("branch5x5_1", bc(in, 48, 1));
    add("branch5x5_2", bc(48, 64, 5, 1, 2));
    add("branch3x3dbl_1", bc(in, 64, 1));
    add("branch3x3dbl_2", bc(64, 96, 3, 1, 1));
    add("branch3x3dbl_3", bc(96, 96, 3, 1, 1));
    add("branch_pool", bc(in, pool_features, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::cat({run("branch1x1", x), run("branch5x5_2", run("branch5x5_1", x)),
                       run("branch3x3dbl_3", run("branch3x3dbl_2", run("branch3x3dbl_1", x))),
                       run("branch_pool", avg3(x))},
                      1);
  }
};
TORCH_MODULE(InceptionA);

class InceptionBImpl : public InceptionBlock {
 public:
  explicit InceptionBImpl(int64_t in) {
    add("branch3x3", bc(in, 384, 3, 2));
    add("branch3x3dbl_1", bc(in, 64, 1));
    add("branch3x3dbl_2", bc(64, 96, 3, 1, 1));
    add("branch3x3dbl_3", bc(96, 96, 3, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::cat({run("branch3x3", x),
                       run("branch3x3dbl_3", run("branch3x3dbl_2", run("branch3x3dbl_1", x))),
                       torch::max_pool2d(x, 3, 2)},
                      1);
  }
};
TORCH_MODULE(InceptionB);

class InceptionCImpl : public InceptionBlock {
 public:
  InceptionCImpl(int64_t in, int64_t c7) {
    const std::vector<int64_t> k17{1, 7}, k71{7, 1}, p17{0, 3}, p71{3, 0};
    add("branch1x1", bc(in, 192, 1));
    add("branch7x7_1", bc(in, c7, 1));
    add("branch7x7_2", bc(c7, c7, k17, p17));
    add("branch7x7_3", bc(c7, 192, k71, p71));
    add("branch7x7dbl_1", bc(in, c7, 1));
    add("branch7x7dbl_2", bc(c7, c7, k71, p71));
    add("branch7x7dbl_3", bc(c7, c7, k17, p17));
    add("branch7x7dbl_4", bc(c7, c7, k71, p71));
    add("branch7x7dbl_5", bc(c7, 192, k17, p17));
    add("branch_pool", bc(in, 192, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto b7 = run("branch7x7_3", run("branch7x7_2", run("branch7x7_1", x)));
    auto d = x;
    for (int i = 1; i <= 5; ++i) d = run("branch7x7dbl_" + std::to_string(i), d);
    return torch::cat({run("branch1x1", x), b7, d, run("branch_pool", avg3(x))}, 1);
  }
};
TORCH_MODULE(InceptionC);

class InceptionDImpl : public InceptionBlock {
 public:
  explicit InceptionDImpl(int64_t in) {
    add("branch3x3_1", bc(in, 192, 1));
    add("branch3x3_2", bc(192, 320, 3, 2));
    add("branch7x7x3_1", bc(in, 192, 1));
    add("branch7x7x3_2", bc(192, 192, {1, 7}, {0, 3}));
    add("branch7x7x3_3", bc(192, 192, {7, 1}, {3, 0}));
    add("branch7x7x3_4", bc(192, 192, 3, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto b3 = run("branch3x3_2", run("branch3x3_1", x));
    auto b7 = x;
    for (int i = 1; i <= 4; ++i) b7 = run("branch7x7x3_" + std::to_string(i), b7);
    return torch::cat({b3, b7, torch::max_pool2d(x, 3, 2)}, 1);
  }
};
TORCH_MODULE(InceptionD);

class InceptionEImpl : public InceptionBlock {
 public:
  explicit InceptionEImpl(int64_t in) {
    add("branch1x1", bc(in, 320, 1));
    add("branch3x3_1", bc(in, 384, 1));
    add("branch3x3_2a", bc(384, 384, {1, 3}, {0, 1}));
    add("branch3x3_2b", bc(384, 384, {3, 1}, {1, 0}));
    add("branch3x3dbl_1", bc(in, 448, 1));
    add("branch3x3dbl_2", bc(448, 384, 3, 1, 1));
    add("branch3x3dbl_3a", bc(384, 384, {1, 3}, {0, 1}));
    add("branch3x3dbl_3b", bc(384, 384, {3, 1}, {1, 0}));
    add("branch_pool", bc(in, 192, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto b3 = run("branch3x3_1", x);
    b3 = torch::cat({run("branch3x3_2a", b3), run("branch3x3_2b", b3)}, 1);
    auto d = run("branch3x3dbl_2", run("branch3x3dbl_1", x));
    d = torch::cat({run("branch3x3dbl_3a", d), run("branch3x3dbl_3b", d)}, 1);
    return torch::cat({run("branch1x1", x), b3, d, run("branch_pool", avg3(x))}, 1);
  }
};
TORCH_MODULE(InceptionE);

// Auxiliary classifier: part of torchvision's state_dict (so strict loading works) but only used
// by torchvision in training mode; eval-mode classify() never calls it.
class InceptionAuxImpl : public nn::Module {
 public:
  InceptionAuxImpl(int64_t in, int64_t classes) {
    conv0_ = register_module("conv0", bc(in, 128, 1));
    conv1_ = register_module("conv1", bc(128, 768, 5));
    fc_ = register_module("fc", nn::Linear(768, classes));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv1_->forward(conv0_->forward(torch::avg_pool2d(x, 5, 3)));
    return fc_->forward(global_pool(y));
  }

 private:
  BasicConv2d conv0_{nullptr}, conv1_{nullptr};
  nn::Linear fc_{nullptr};
};
TORCH_MODULE(InceptionAux);

class InceptionV3Impl : public BackboneImpl {
 public:
  explicit InceptionV3Impl(int64_t classes) : classes_(classes) {
    stem_.push_back(register_module("Conv2d_1a_3x3", bc(3, 32, 3, 2)));
    stem_.push_back(register_module("Conv2d_2a_3x3", bc(32, 32, 3)));
    stem_.push_back(register_module("Conv2d_2b_3x3", bc(32, 64, 3, 1, 1)));
    stem_.push_back(register_module("Conv2d_3b_1x1", bc(64, 80, 1)));
    stem_.push_back(register_module("Conv2d_4a_3x3", bc(80, 192, 3)));
    a_.push_back(register_module("Mixed_5b", InceptionA(192, 32)));
    a_.push_back(register_module("Mixed_5c", InceptionA(256, 64)));
    a_.push_back(register_module("Mixed_5d", InceptionA(288, 64)));
    b_ = register_module("Mixed_6a", InceptionB(288));
    c_.push_back(register_module("Mixed_6b", InceptionC(768, 128)));
    c_.push_back(register_module("Mixed_6c", InceptionC(768, 160)));
    c_.push_back(register_module("Mixed_6d", InceptionC(768, 160)));
    c_.push_back(register_module("Mixed_6e", InceptionC(768, 192)));
    if (classes > 0) aux_ = register_module("AuxLogits", InceptionAux(768, classes));
    d_ = register_module("Mixed_7a", InceptionD(768));
    e_.push_back(register_module("Mixed_7b", InceptionE(1280)));
    e_.push_back(register_module("Mixed_7c", InceptionE(2048)));
    if (classes > 0) fc_ = register_module("fc", nn::Linear(2048, classes));
  }
  torch::Tensor features(const torch::Tensor& x) override {
    auto y = stem_[0]->forward(channels_last_input(x, 75, arch()));
    y = stem_[2]->forward(stem_[1]->forward(y));
    y = torch::max_pool2d(y, 3, 2);
    y = stem_[4]->forward(stem_[3]->forward(y));
    y = torch::max_pool2d(y, 3, 2);
    for (auto& m : a_) y = m->forward(y);
    y = b_->forward(y);
    for (auto& m : c_) y = m->forward(y);
    y = d_->forward(y);
    for (auto& m : e_) y = m->forward(y);
    return y;
  }
  torch::Tensor classify(const torch::Tensor& x) override {
    require_classifier(classes_, arch());
    // torchvision: avgpool -> dropout(0.5) -> flatten -> fc; dropout only acts in training mode.
    auto pooled = torch::dropout(global_pool(features(x)), 0.5, is_training());
    return fc_->forward(pooled);
  }
  int64_t feature_dim() const override { return 2048; }
  int64_t default_input_size() const override { return 299; }
  std::string arch() const override { return "inception_v3"; }
  int64_t num_classes() const override { return classes_; }
  std::vector<std::string> classifier_prefixes() const override { return {"fc.", "AuxLogits."}; }

 private:
  int64_t classes_;
  std::vector<BasicConv2d> stem_;
  std::vector<InceptionA> a_;
  InceptionB b_{nullptr};
  std::vector<InceptionC> c_;
  InceptionD d_{nullptr};
  std::vector<InceptionE> e_;
  InceptionAux aux_{nullptr};
  nn::Linear fc_{nullptr};
};

}  // namespace

const std::vector<std::string>& backbone_architectures() {
  static const std::vector<std::string> archs{"mobilenet_v2", "resnet18", "resnet50", "inception_v3"};
  return archs;
}

std::shared_ptr<BackboneImpl> make_backbone(const std::string& arch, int64_t num_classes) {
  if (num_classes < 0) throw InputError(arch + ": negative class count " + std::to_string(num_classes));
  if (arch == "mobilenet_v2") return with_channels_last_weights(std::make_shared<MobileNetV2Impl>(num_classes));
  if (arch == "resnet18")
    return with_channels_last_weights(
        std::make_shared<ResNetImpl>("resnet18", std::vector<int64_t>{2, 2, 2, 2}, false, num_classes));
  if (arch == "resnet50")
    return with_channels_last_weights(
        std::make_shared<ResNetImpl>("resnet50", std::vector<int64_t>{3, 4, 6, 3}, true, num_classes));
  if (arch == "inception_v3") return with_channels_last_weights(std::make_shared<InceptionV3Impl>(num_classes));
  std::string known;
  for (const auto& a : backbone_architectures()) known += (known.empty() ? "" : ", ") + a;
  throw InputError("unknown backbone architecture '" + arch + "' (known: " + known + ")");
}

}  // namespace skintriage
