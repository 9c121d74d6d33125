// Model folders (model.json + model.pth) and the pretrained-weight factory of factory.h.
#include "model/checkpoint.h"

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "model/factory.h"
#include "model/state_dict.h"

namespace skintriage {

namespace {
const char* kFormat = "skintriage-model";
const int kVersion = 1;
const std::set<std::string> kReserved{"format", "version", "options", "preprocessing", "crop_border"};
}  // namespace

void save_model(const std::string& dir, const ModelBundle& model) {
  if (!model.net) throw InputError(dir + ": cannot save a model that was never built");
  if (!model.extra.is_object()) throw InputError(dir + ": model extra data must be a JSON object");
  nlohmann::json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["options"] = model.options.to_json();
  j["preprocessing"] = model.preprocessing.to_json();
  j["crop_border"] = model.crop_border;
  for (auto it = model.extra.begin(); it != model.extra.end(); ++it) {
    if (kReserved.count(it.key())) throw InputError(dir + ": model extra data may not use the key '" + it.key() + "'");
    j[it.key()] = it.value();
  }
  make_dirs(dir);
  // Weights first: a model.json always points at a complete model.pth.
  save_state_dict(join_path(dir, "model.pth"), module_state(*model.net));
  write_file_atomic(join_path(dir, "model.json"), j.dump(2) + "\n");
}

ModelBundle load_model(const std::string& dir) {
  std::string json_path = join_path(dir, "model.json");
  std::string pth_path = join_path(dir, "model.pth");
  if (!file_exists(json_path)) throw InputError(dir + ": not a model folder (model.json is missing)");
  if (!file_exists(pth_path)) throw InputError(json_path + ": its weights file model.pth is missing");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(json_path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(json_path + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object() || j.value("format", "") != kFormat)
    throw InputError(json_path + ": field 'format': not a skintriage model (expected \"" + kFormat + "\")");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() > kVersion)
    throw InputError(json_path + ": field 'version': unsupported model version");
  ModelBundle m;
  if (!j.contains("options")) throw InputError(json_path + ": field 'options' is missing");
  m.options = MultimodalNetOptions::from_json(j["options"], json_path + " options");
  if (!j.contains("preprocessing")) throw InputError(json_path + ": field 'preprocessing' is missing");
  m.preprocessing = Preprocessing::from_json(j["preprocessing"], json_path + " preprocessing");
  if (j.contains("crop_border")) {
    if (!j["crop_border"].is_number_integer() || j["crop_border"].get<int>() < 0)
      throw InputError(json_path + ": field 'crop_border': expected a non-negative integer");
    m.crop_border = j["crop_border"].get<int>();
  }
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!kReserved.count(it.key())) m.extra[it.key()] = it.value();
  m.net = MultimodalNet(m.options);
  load_into(*m.net, load_state_dict(pth_path), LoadOptions{}, pth_path);
  m.net->eval();
  return m;
}

// ------------------------------------------------------------------ factory.h

std::string find_sidecar(const std::string& weights_path) {
  std::string a = weights_path + ".json";
  if (file_exists(a)) return a;
  auto dot = weights_path.rfind('.');
  auto slash = weights_path.rfind('/');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) {
    std::string b = weights_path.substr(0, dot) + ".json";
    if (file_exists(b)) return b;
  }
  return "";
}

int64_t classifier_classes(const StateDict& state, const std::string& arch) {
  std::string name = arch == "mobilenet_v2" ? "classifier.1.weight" : "fc.weight";
  for (const auto& [n, t] : state)
    if (n == name && t.dim() == 2) return t.size(0);
  return 0;
}

Preprocessing resolve_preprocessing(const std::string& weights_path, const StateDict& state, const std::string& arch_in,
                                    const std::string& mode, int64_t input_size) {
  if (mode != "auto" && mode != "tf" && mode != "torchvision")
    throw InputError("preprocessing '" + mode + "': expected auto, tf or torchvision");
  std::string arch = arch_in;
  std::string sidecar = find_sidecar(weights_path);
  Preprocessing p;
  if (!sidecar.empty()) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(sidecar));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(sidecar + ": invalid JSON (" + std::string(e.what()) + ")");
    }
    p = Preprocessing::from_json(j, sidecar);
    if (!arch.empty() && !p.arch.empty() && p.arch != arch)
      throw InputError(sidecar + ": field 'arch': the sidecar says " + p.arch + " but " + arch + " was requested");
    if (arch.empty()) arch = p.arch;
    p.source = "sidecar:" + sidecar;
    if (!p.labels.empty() && p.labels[0] != '/') {
      std::string dir = std::filesystem::path(sidecar).parent_path().string();
      p.labels = dir.empty() ? p.labels : join_path(dir, p.labels);
    }
    if (!j.contains("num_classes")) p.num_classes = classifier_classes(state, arch.empty() ? detect_architecture(state) : arch);
  }
  if (arch.empty()) arch = detect_architecture(state);
  if (arch.empty())
    throw InputError(weights_path + ": cannot tell the architecture from the tensor names; name it (--arch) or add a sidecar " +
                     weights_path + ".json");
  int64_t classes = classifier_classes(state, arch);
  if (sidecar.empty()) {
    std::string preset = mode;
    if (mode == "auto") {
      if (classes == 1001)
        preset = "tf";
      else if (classes == 1000)
        preset = "torchvision";
      else
        throw InputError(weights_path + ": no preprocessing sidecar (" + weights_path +
                         ".json) and a classifier of " + std::to_string(classes) +
                         " classes does not identify it; add a sidecar or name the preprocessing (tf or torchvision)");
    }
    p = Preprocessing::preset(preset, arch, 0);
    p.num_classes = classes;
    p.source = mode == "auto" ? "inferred" : "preset:" + preset;
    // A labels file beside the weights (labels_<classes>.txt or labels.txt) is picked up.
    std::string dir = std::filesystem::path(weights_path).parent_path().string();
    for (const std::string& name : {"labels_" + std::to_string(classes) + ".txt", std::string("labels.txt")}) {
      std::string cand = dir.empty() ? name : join_path(dir, name);
      if (classes > 0 && file_exists(cand)) {
        p.labels = cand;
        break;
      }
    }
  } else if (mode != "auto") {
    Preprocessing q = Preprocessing::preset(mode, arch, p.input_size);
    p.mean = q.mean;
    p.std = q.std;
    p.source += " (normalisation: preset " + mode + ")";
  }
  p.arch = arch;
  if (input_size > 0) p.input_size = input_size;
  if (sidecar.empty() && input_size <= 0) p.input_size = arch == "inception_v3" ? 299 : 224;
  return p;
}

PretrainedBackbone load_backbone(const std::string& weights_path, const std::string& arch, bool with_classifier,
                                 const std::string& mode) {
  StateDict state = load_state_dict(weights_path);
  PretrainedBackbone out;
  std::string detected = detect_architecture(state);
  if (!detected.empty() && !arch.empty() && detected != arch)
    throw InputError(weights_path + ": the tensors are those of " + detected + ", not " + arch);
  out.preprocessing = resolve_preprocessing(weights_path, state, arch, mode);
  const std::string& a = out.preprocessing.arch;
  if (!detected.empty() && detected != a)
    throw InputError(weights_path + ": the tensors are those of " + detected + ", not " + a);
  int64_t classes = with_classifier ? classifier_classes(state, a) : 0;
  if (with_classifier && classes == 0) throw InputError(weights_path + ": the file has no classifier weights for " + a);
  out.net = make_backbone(a, classes);
  LoadOptions lo;
  // A features-only backbone has no classifier; ignore the file's.
  if (!with_classifier) lo.skip_prefixes = out.net->classifier_prefixes();
  load_into(*out.net, state, lo, weights_path);
  out.net->eval();
  return out;
}

ModelBundle make_pretrained_model(const MultimodalNetOptions& options, const std::string& weights_path,
                                  const std::string& mode, int64_t input_size) {
  ModelBundle m;
  m.options = options;
  m.net = MultimodalNet(options);
  if (weights_path.empty()) {
    m.preprocessing = Preprocessing::preset(mode == "tf" ? "tf" : "torchvision", options.arch, input_size);
    m.preprocessing.num_classes = 0;
    m.preprocessing.source = "random-init:" + std::string(mode == "tf" ? "tf" : "torchvision");
  } else {
    StateDict state = load_state_dict(weights_path);
    std::string detected = detect_architecture(state);
    if (!detected.empty() && detected != options.arch)
      throw InputError(weights_path + ": the tensors are those of " + detected + ", not " + options.arch);
    m.preprocessing = resolve_preprocessing(weights_path, state, options.arch, mode, input_size);
    for (const std::string modality : {"clinic", "derm"}) {
      if ((modality == "clinic" && !options.uses_clinic()) || (modality == "derm" && !options.uses_derm())) continue;
      auto backbone = m.net->backbone(modality);
      LoadOptions lo;
      lo.skip_prefixes = backbone->classifier_prefixes();
      load_into(*backbone, state, lo, weights_path);
    }
  }
  m.extra["pretrained"] = weights_path;
  m.net->eval();
  return m;
}

}  // namespace skintriage
