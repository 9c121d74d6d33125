#include "train/config.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/files.h"

namespace skintriage {

namespace {

using json = nlohmann::json;

std::string field_error(const std::string& where, const std::string& key, const std::string& msg) {
  return located(where, 0, key, msg);
}

template <typename T>
void read_value(const json& j, const std::string& key, T& out, const std::string& where) {
  try {
    out = j.get<T>();
  } catch (const json::exception&) {
    throw InputError(field_error(where, key, "wrong type (" + std::string(j.type_name()) + ")"));
  }
}

// Reads a string list given as a JSON array or a comma-separated string.
void read_list(const json& j, const std::string& key, std::vector<std::string>& out,
               const std::string& where) {
  out.clear();
  if (j.is_string()) {
    std::string s = j.get<std::string>(), cur;
    for (char c : s) {
      if (c == ',') {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
      } else if (c != ' ') {
        cur += c;
      }
    }
    if (!cur.empty()) out.push_back(cur);
    return;
  }
  if (!j.is_array()) throw InputError(field_error(where, key, "expected a list of names"));
  for (const auto& e : j) {
    if (!e.is_string()) throw InputError(field_error(where, key, "expected a list of names"));
    out.push_back(e.get<std::string>());
  }
}

void one_of(const std::string& value, const std::vector<std::string>& allowed, const std::string& where,
            const std::string& key) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw InputError(field_error(where, key, "'" + value + "' is not one of " + list));
}

void in_range(double v, double lo, double hi, const std::string& where, const std::string& key) {
  if (!(v >= lo && v <= hi))
    throw InputError(field_error(where, key, "value " + std::to_string(v) + " outside [" + std::to_string(lo) +
                                                 ", " + std::to_string(hi) + "]"));
}

}  // namespace

json AugmentConfig::to_json() const {
  return json{{"enabled", enabled},       {"flip", flip},
              {"rotate90", rotate90},     {"crop_scale_min", crop_scale_min},
              {"crop_ratio_max", crop_ratio_max}, {"brightness", brightness},
              {"contrast", contrast},     {"saturation", saturation},
              {"hue", hue}};
}

void AugmentConfig::update_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(field_error(where, "augment", "expected an object"));
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const std::string key = "augment." + k;
    if (k == "enabled") read_value(*it, key, enabled, where);
    else if (k == "flip") read_value(*it, key, flip, where);
    else if (k == "rotate90") read_value(*it, key, rotate90, where);
    else if (k == "crop_scale_min") read_value(*it, key, crop_scale_min, where);
    else if (k == "crop_ratio_max") read_value(*it, key, crop_ratio_max, where);
    else if (k == "brightness") read_value(*it, key, brightness, where);
    else if (k == "contrast") read_value(*it, key, contrast, where);
    else if (k == "saturation") read_value(*it, key, saturation, where);
    else if (k == "hue") read_value(*it, key, hue, where);
    else throw InputError(field_error(where, key, "unknown setting"));
  }
}

json TrainConfig::to_json() const {
  json hw = json::object();
  for (const auto& [k, v] : head_weights) hw[k] = v;
  return json{{"mode", mode},
              {"inputs", inputs},
              {"heads", heads},
              {"head_weights", hw},
              {"class_weighting", class_weighting},
              {"optimizer", optimizer},
              {"lr", lr},
              {"backbone_lr_scale", backbone_lr_scale},
              {"weight_decay", weight_decay},
              {"momentum", momentum},
              {"epochs", epochs},
              {"batch_size", batch_size},
              {"warmup_epochs", warmup_epochs},
              {"schedule", schedule},
              {"seed", seed},
              {"selection_metric", selection_metric},
              {"patience", patience},
              {"arch", arch},
              {"weights", weights},
              {"preprocessing", preprocessing},
              {"image_size", image_size},
              {"crop_border", crop_border},
              {"augment", augment.to_json()},
              {"feature_views", feature_views},
              {"cache_dir", cache_dir},
              {"hidden", hidden},
              {"dropout", dropout},
              {"modality_dropout", modality_dropout},
              {"shared_backbone", shared_backbone},
              {"threads", threads},
              {"workers", workers},
              {"image_cache_mb", image_cache_mb},
              {"min_excision_sensitivity", min_excision_sensitivity},
              {"progress", progress}};
}

void TrainConfig::update_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": a training config must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = *it;
    if (k == "mode") read_value(v, k, mode, where);
    else if (k == "inputs") read_value(v, k, inputs, where);
    else if (k == "heads") read_list(v, k, heads, where);
    else if (k == "head_weights") {
      if (!v.is_object()) throw InputError(field_error(where, k, "expected an object {head: weight}"));
      head_weights.clear();
      for (auto h = v.begin(); h != v.end(); ++h) read_value(*h, k + "." + h.key(), head_weights[h.key()], where);
    } else if (k == "class_weighting") read_value(v, k, class_weighting, where);
    else if (k == "optimizer") read_value(v, k, optimizer, where);
    else if (k == "lr") read_value(v, k, lr, where);
    else if (k == "backbone_lr_scale") read_value(v, k, backbone_lr_scale, where);
    else if (k == "weight_decay") read_value(v, k, weight_decay, where);
    else if (k == "momentum") read_value(v, k, momentum, where);
    else if (k == "epochs") read_value(v, k, epochs, where);
    else if (k == "batch_size") read_value(v, k, batch_size, where);
    else if (k == "warmup_epochs") read_value(v, k, warmup_epochs, where);
    else if (k == "schedule") read_value(v, k, schedule, where);
    else if (k == "seed") {
      if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<long long>() < 0))
        throw InputError(field_error(where, k, "expected a non-negative integer"));
      seed = v.get<uint64_t>();
    } else if (k == "selection_metric") read_value(v, k, selection_metric, where);
    else if (k == "patience") read_value(v, k, patience, where);
    else if (k == "arch") read_value(v, k, arch, where);
    else if (k == "weights") read_value(v, k, weights, where);
    else if (k == "preprocessing") read_value(v, k, preprocessing, where);
    else if (k == "image_size") read_value(v, k, image_size, where);
    else if (k == "crop_border") read_value(v, k, crop_border, where);
    else if (k == "augment") augment.update_from_json(v, where);
    else if (k == "feature_views") read_value(v, k, feature_views, where);
    else if (k == "cache_dir") read_value(v, k, cache_dir, where);
    else if (k == "hidden") read_value(v, k, hidden, where);
    else if (k == "dropout") read_value(v, k, dropout, where);
    else if (k == "modality_dropout") read_value(v, k, modality_dropout, where);
    else if (k == "shared_backbone") read_value(v, k, shared_backbone, where);
    else if (k == "threads") read_value(v, k, threads, where);
    else if (k == "workers") read_value(v, k, workers, where);
    else if (k == "image_cache_mb") read_value(v, k, image_cache_mb, where);
    else if (k == "min_excision_sensitivity") read_value(v, k, min_excision_sensitivity, where);
    else if (k == "progress") read_value(v, k, progress, where);
    else throw InputError(field_error(where, k, "unknown setting"));
  }
}

TrainConfig TrainConfig::from_json(const json& j, const std::string& where) {
  TrainConfig c;
  c.update_from_json(j, where);
  c.validate(where);
  return c;
}

void TrainConfig::validate(const std::string& where) const {
  one_of(mode, {"features", "finetune"}, where, "mode");
  one_of(inputs, {"C", "CM", "D", "DM", "CD", "CDM"}, where, "inputs");
  if (heads.empty()) throw InputError(field_error(where, "heads", "at least one head is needed"));
  std::set<std::string> seen;
  for (const auto& h : heads)
    if (!seen.insert(h).second) throw InputError(field_error(where, "heads", "head '" + h + "' listed twice"));
  for (const auto& [h, w] : head_weights) in_range(w, 0.0, 1e6, where, "head_weights." + h);
  one_of(class_weighting, {"none", "balanced"}, where, "class_weighting");
  one_of(optimizer, {"adamw", "sgd"}, where, "optimizer");
  one_of(schedule, {"cosine", "constant"}, where, "schedule");
  one_of(preprocessing, {"auto", "tf", "torchvision"}, where, "preprocessing");
  in_range(lr, 1e-12, 10.0, where, "lr");
  in_range(backbone_lr_scale, 0.0, 100.0, where, "backbone_lr_scale");
  in_range(weight_decay, 0.0, 10.0, where, "weight_decay");
  in_range(momentum, 0.0, 0.999999, where, "momentum");
  in_range(epochs, 1, 100000, where, "epochs");
  in_range(batch_size, 1, 65536, where, "batch_size");
  in_range(warmup_epochs, 0, 100000, where, "warmup_epochs");
  in_range(patience, 0, 100000, where, "patience");
  in_range(image_size, 0, 4096, where, "image_size");
  if (image_size != 0 && image_size < 32) throw InputError(field_error(where, "image_size", "must be 0 or >= 32"));
  in_range(crop_border, -1, 100000, where, "crop_border");
  in_range(feature_views, 1, 64, where, "feature_views");
  in_range(hidden, 0, 1 << 20, where, "hidden");
  in_range(dropout, 0.0, 0.99, where, "dropout");
  in_range(modality_dropout, 0.0, 0.99, where, "modality_dropout");
  in_range(threads, 0, 1024, where, "threads");
  in_range(workers, 0, 256, where, "workers");
  in_range(image_cache_mb, 0, 1 << 22, where, "image_cache_mb");
  in_range(min_excision_sensitivity, 0.0, 1.0, where, "min_excision_sensitivity");
  in_range(augment.crop_scale_min, 0.05, 1.0, where, "augment.crop_scale_min");
  in_range(augment.crop_ratio_max, 1.0, 4.0, where, "augment.crop_ratio_max");
  in_range(augment.brightness, 0.0, 0.99, where, "augment.brightness");
  in_range(augment.contrast, 0.0, 0.99, where, "augment.contrast");
  in_range(augment.saturation, 0.0, 0.99, where, "augment.saturation");
  in_range(augment.hue, 0.0, 0.5, where, "augment.hue");
  if (selection_metric != "auto" && selection_metric != "valid_loss" &&
      selection_metric.find('.') == std::string::npos)
    throw InputError(field_error(where, "selection_metric",
                                 "'" + selection_metric + "' is not auto, valid_loss or <HEAD>.<metric>"));
  if (selection_metric.find('.') != std::string::npos) {
    std::string head = selection_metric.substr(0, selection_metric.find('.'));
    if (std::find(heads.begin(), heads.end(), head) == heads.end() &&
        std::find(heads.begin(), heads.end(), "all") == heads.end())
      throw InputError(field_error(where, "selection_metric", "head '" + head + "' is not an active head"));
  }
}

std::string TrainConfig::resolved_selection_metric() const {
  if (selection_metric != "auto") return selection_metric;
  if (std::find(heads.begin(), heads.end(), "MGMT") != heads.end()) return "MGMT.auroc_macro";
  return heads.front() + ".auroc_macro";
}

double TrainConfig::head_weight(const std::string& head) const {
  auto it = head_weights.find(head);
  return it == head_weights.end() ? 1.0 : it->second;
}

TrainConfig load_train_config(const std::string& path) {
  std::string text = read_text_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(path + ": not valid JSON: " + e.what());
  }
  return TrainConfig::from_json(j, path);
}

}  // namespace skintriage
