// `skintriage weights inspect FILE` and `skintriage classify --weights FILE IMG...`: check a weight
// file (its tensors, architecture and preprocessing) and its own ImageNet classifier before
// training on it.
#include <CLI/CLI.hpp>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/image.h"
#include "model/factory.h"

namespace skintriage::cli {

namespace {

std::string shape_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

// A project model.pth nests backbones under backbone. / clinic_backbone. / derm_backbone.
std::string detect_nested(const StateDict& state) {
  for (const std::string prefix : {"backbone.", "clinic_backbone.", "derm_backbone."}) {
    StateDict inner;
    for (const auto& [n, t] : state)
      if (starts_with(n, prefix)) inner.emplace_back(n.substr(prefix.size()), t);
    if (inner.empty()) continue;
    // The multimodal net's backbones have no classifier; add a placeholder name so detection works.
    std::string a = detect_architecture(inner);
    if (a.empty()) {
      inner.emplace_back("classifier.1.weight", torch::zeros({1, 1}));
      inner.emplace_back("fc.weight", torch::zeros({1, 1}));
      a = detect_architecture(inner);
    }
    if (!a.empty()) return a;
  }
  return "";
}

struct InspectArgs {
  std::string file;
  bool json = false;
};

void run_inspect(const InspectArgs& a) {
  StateDict state = load_state_dict(a.file);
  std::string arch = detect_architecture(state);
  std::string nested = arch.empty() ? detect_nested(state) : "";
  int64_t total = 0;
  std::map<std::string, int64_t> dtypes;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& [name, t] : state) {
    total += t.numel();
    std::string dt = c10::toString(t.scalar_type());
    dtypes[dt] += 1;
    tensors.push_back({{"name", name}, {"shape", t.sizes().vec()}, {"dtype", dt}, {"numel", t.numel()}});
  }
  std::string sidecar = find_sidecar(a.file);
  nlohmann::json pre;
  std::string pre_error;
  if (!arch.empty() || !sidecar.empty()) {
    try {
      pre = resolve_preprocessing(a.file, state, arch).to_json();
    } catch (const InputError& e) {
      pre_error = e.what();
    }
  } else {
    pre_error = nested.empty() ? "unknown architecture: no preprocessing can be inferred"
                               : "a skintriage model's weights: its preprocessing is in the model.json beside it";
  }
  if (a.json) {
    nlohmann::json j{{"file", a.file},
                     {"architecture", arch},
                     {"num_classes", arch.empty() ? 0 : classifier_classes(state, arch)},
                     {"count", state.size()},
                     {"parameters", total},
                     {"dtypes", dtypes},
                     {"sidecar", sidecar},
                     {"tensors", tensors}};
    if (!nested.empty()) j["multimodal_backbone"] = nested;
    if (pre_error.empty())
      j["preprocessing"] = pre;
    else
      j["preprocessing_error"] = pre_error;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "file: " << a.file << "\n";
  std::cout << "architecture: " << (arch.empty() ? (nested.empty() ? "unknown" : "skintriage multimodal model, " + nested + " backbone") : arch)
            << "\n";
  if (!arch.empty()) std::cout << "classes: " << classifier_classes(state, arch) << "\n";
  std::cout << "tensors: " << state.size() << ", values: " << total << " (";
  bool first = true;
  for (const auto& [dt, n] : dtypes) {
    std::cout << (first ? "" : ", ") << n << " " << dt;
    first = false;
  }
  std::cout << ")\n";
  std::cout << "sidecar: " << (sidecar.empty() ? "none" : sidecar) << "\n";
  if (pre_error.empty())
    std::cout << "preprocessing: " << pre.dump() << "\n";
  else
    std::cout << "preprocessing: unavailable (" << pre_error << ")\n";
  for (const auto& [name, t] : state)
    std::cout << "  " << name << " " << shape_text(t) << " " << c10::toString(t.scalar_type()) << "\n";
}

struct ClassifyArgs {
  std::string weights, arch, labels, preprocessing = "auto";
  int top = 5;
  bool json = false;
  std::vector<std::string> images;
};

std::vector<std::string> read_labels(const std::string& path, int64_t classes) {
  std::vector<std::string> labels;
  for (auto& line : split(read_text_file(path), '\n')) labels.push_back(trim(line));
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  if (static_cast<int64_t>(labels.size()) != classes)
    throw InputError(path + ": " + std::to_string(labels.size()) + " labels, but the classifier has " +
                     std::to_string(classes) + " classes");
  return labels;
}

void run_classify(const ClassifyArgs& a) {
  if (a.top < 1) throw InputError("--top must be at least 1");
  auto b = load_backbone(a.weights, a.arch, true, a.preprocessing);
  int64_t classes = b.net->num_classes();
  std::string labels_path = a.labels.empty() ? b.preprocessing.labels : a.labels;
  std::vector<std::string> labels;
  if (!labels_path.empty()) labels = read_labels(labels_path, classes);
  int64_t k = std::min<int64_t>(a.top, classes);
  nlohmann::json out{{"weights", a.weights},
                     {"arch", b.net->arch()},
                     {"labels", labels_path},
                     {"preprocessing", b.preprocessing.to_json()},
                     {"images", nlohmann::json::array()}};
  torch::NoGradGuard ng;
  if (!a.json)
    std::cout << "weights: " << a.weights << " (" << b.net->arch() << ", " << classes << " classes, preprocessing "
              << b.preprocessing.source << ")\n";
  for (const auto& path : a.images) {
    auto x = image_to_tensor(load_image_rgb(path), b.preprocessing).unsqueeze(0);
    auto logits = b.net->classify(x)[0];
    auto probs = torch::softmax(logits, 0);
    auto [p, idx] = probs.topk(k);
    nlohmann::json top = nlohmann::json::array();
    if (!a.json) std::cout << path << "\n";
    for (int64_t r = 0; r < k; ++r) {
      int64_t i = idx[r].item<int64_t>();
      std::string label = labels.empty() ? std::to_string(i) : labels[static_cast<size_t>(i)];
      double prob = p[r].item<double>();
      top.push_back({{"index", i}, {"label", label}, {"probability", prob}, {"logit", logits[i].item<double>()}});
      if (!a.json)
        std::cout << "  " << (r + 1) << ". " << label << " (" << i << ")  p=" << std::fixed << std::setprecision(4)
                  << prob << "\n";
    }
    if (a.json) {
      auto lc = logits.contiguous();
      std::vector<float> all(lc.data_ptr<float>(), lc.data_ptr<float>() + lc.numel());
      out["images"].push_back({{"image", path}, {"top", top}, {"logits", all}});
    }
  }
  if (a.json) std::cout << out.dump(2) << "\n";
}

}  // namespace

void register_weights(CLI::App& app) {
  auto* weights = app.add_subcommand("weights", "Inspect PyTorch weight files (.pth)");
  weights->require_subcommand(1);
  auto ia = std::make_shared<InspectArgs>();
  auto* inspect = weights->add_subcommand(
      "inspect", "List a weight file's tensors, detected architecture, sidecar and preprocessing");
  inspect->add_option("file", ia->file, "Weight file (.pth: torch.save zip or legacy format)")->required();
  inspect->add_flag("--json", ia->json, "Machine-readable output");
  inspect->callback([ia] { run_inspect(*ia); });

  auto ca = std::make_shared<ClassifyArgs>();
  auto* classify = app.add_subcommand("classify", "Classify images with a weight file's own ImageNet classifier");
  classify->add_option("--weights", ca->weights, "Weight file (.pth)")->required();
  classify->add_option("--arch", ca->arch, "Architecture (default: detected from the tensor names)")
      ->check(CLI::IsMember(backbone_architectures()));
  classify->add_option("--labels", ca->labels, "Class names, one per line (default: the sidecar's or labels_<N>.txt beside the weights)");
  classify->add_option("--top", ca->top, "Classes to show per image")->capture_default_str();
  classify->add_option("--preprocessing", ca->preprocessing, "auto (sidecar, else inferred), tf or torchvision")
      ->check(CLI::IsMember({"auto", "tf", "torchvision"}))
      ->capture_default_str();
  classify->add_flag("--json", ca->json, "JSON output including the full logits vector of every image");
  classify->add_option("images", ca->images, "Image files")->required();
  classify->callback([ca] { run_classify(*ca); });
}

}  // namespace skintriage::cli
