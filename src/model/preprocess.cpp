#include "model/preprocess.h"

#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "model/backbone.h"

namespace skintriage {

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& field, const std::string& msg) {
  throw InputError(where + ": field '" + field + "': " + msg);
}

std::array<float, 3> triple(const nlohmann::json& j, const std::string& where, const std::string& field) {
  if (!j.is_array() || j.size() != 3) bad(where, field, "expected an array of 3 numbers");
  std::array<float, 3> out{};
  for (size_t k = 0; k < 3; ++k) {
    if (!j[k].is_number()) bad(where, field, "expected an array of 3 numbers");
    out[k] = j[k].get<float>();
  }
  return out;
}

}  // namespace

nlohmann::json Preprocessing::to_json() const {
  return {{"arch", arch},
          {"input_size", input_size},
          {"color_order", color_order},
          {"mean", {mean[0], mean[1], mean[2]}},
          {"std", {std[0], std[1], std[2]}},
          {"num_classes", num_classes},
          {"labels", labels},
          {"source", source}};
}

Preprocessing Preprocessing::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": preprocessing must be a JSON object");
  Preprocessing p;
  if (j.contains("arch")) {
    if (!j["arch"].is_string()) bad(where, "arch", "expected a string");
    p.arch = j["arch"].get<std::string>();
    if (!p.arch.empty()) {
      bool known = false;
      for (const auto& a : backbone_architectures()) known = known || a == p.arch;
      if (!known) bad(where, "arch", "unknown architecture '" + p.arch + "'");
    }
  }
  // A named preset fills the normalisation; explicit fields below override it.
  if (j.contains("preset")) {
    if (!j["preset"].is_string()) bad(where, "preset", "expected \"torchvision\" or \"tf\"");
    std::string name = j["preset"].get<std::string>();
    if (name != "torchvision" && name != "tf") bad(where, "preset", "expected \"torchvision\" or \"tf\", got '" + name + "'");
    Preprocessing q = preset(name, p.arch, p.input_size);
    p.mean = q.mean;
    p.std = q.std;
    p.input_size = q.input_size;
  }
  if (j.contains("input_size")) {
    if (!j["input_size"].is_number_integer()) bad(where, "input_size", "expected an integer");
    p.input_size = j["input_size"].get<int64_t>();
  } else if (!j.contains("preset") && p.arch == "inception_v3") {
    p.input_size = 299;
  }
  if (p.input_size < 32 || p.input_size > 4096) bad(where, "input_size", "must be between 32 and 4096");
  if (j.contains("color_order")) {
    if (!j["color_order"].is_string()) bad(where, "color_order", "expected \"RGB\" or \"BGR\"");
    p.color_order = j["color_order"].get<std::string>();
    if (p.color_order != "RGB" && p.color_order != "BGR")
      bad(where, "color_order", "expected \"RGB\" or \"BGR\", got '" + p.color_order + "'");
  }
  if (j.contains("mean")) p.mean = triple(j["mean"], where, "mean");
  if (j.contains("std")) p.std = triple(j["std"], where, "std");
  for (float s : p.std)
    if (!(s > 0)) bad(where, "std", "every value must be positive");
  if (j.contains("num_classes")) {
    if (!j["num_classes"].is_number_integer() || j["num_classes"].get<int64_t>() < 0)
      bad(where, "num_classes", "expected a non-negative integer");
    p.num_classes = j["num_classes"].get<int64_t>();
  }
  if (j.contains("labels")) {
    if (!j["labels"].is_string()) bad(where, "labels", "expected a file path");
    p.labels = j["labels"].get<std::string>();
  }
  if (j.contains("source")) {
    if (!j["source"].is_string()) bad(where, "source", "expected a string");
    p.source = j["source"].get<std::string>();
  }
  return p;
}

Preprocessing Preprocessing::preset(const std::string& name, const std::string& arch, int64_t input_size) {
  Preprocessing p;
  p.arch = arch;
  p.input_size = input_size > 0 ? input_size : (arch == "inception_v3" ? 299 : 224);
  p.source = "preset:" + name;
  if (name == "torchvision") {
    p.mean = {0.485f, 0.456f, 0.406f};
    p.std = {0.229f, 0.224f, 0.225f};
  } else if (name == "tf") {
    p.mean = {0.5f, 0.5f, 0.5f};
    p.std = {0.5f, 0.5f, 0.5f};
  } else {
    throw InputError("unknown preprocessing preset '" + name + "' (known: torchvision, tf)");
  }
  return p;
}

torch::Tensor image_to_tensor(const cv::Mat& rgb, const Preprocessing& p) {
  if (rgb.empty()) throw InputError("image_to_tensor: empty image");
  if (rgb.type() != CV_8UC3) throw InputError("image_to_tensor: expected an 8-bit 3-channel RGB image");
  if (p.input_size <= 0) throw InputError("image_to_tensor: input size must be positive");
  int side = std::min(rgb.cols, rgb.rows);
  cv::Mat square = rgb(cv::Rect((rgb.cols - side) / 2, (rgb.rows - side) / 2, side, side));
  cv::Mat resized;
  int s = static_cast<int>(p.input_size);
  if (side == s) {
    resized = square.clone();
  } else {
    // Shrinking with plain bilinear sampling aliases; INTER_AREA averages like PIL's antialiased
    // bilinear resize (what torchvision's reference preprocessing uses) and equals bilinear when enlarging.
    cv::resize(square, resized, cv::Size(s, s), 0, 0, side > s ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  if (!resized.isContinuous()) resized = resized.clone();
  auto t = torch::from_blob(resized.data, {s, s, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat32).div_(255.0);
  if (p.color_order == "BGR") t = t.flip(0);
  auto mean = torch::tensor({p.mean[0], p.mean[1], p.mean[2]}).view({3, 1, 1});
  auto stdv = torch::tensor({p.std[0], p.std[1], p.std[2]}).view({3, 1, 1});
  return ((t - mean) / stdv).contiguous();
}

}  // namespace skintriage
