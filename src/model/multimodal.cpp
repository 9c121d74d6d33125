#include "model/multimodal.h"

#include <set>

#include "core/error.h"

namespace skintriage {

namespace {

const std::vector<std::string> kInputSets{"C", "CM", "D", "DM", "CD", "CDM"};

[[noreturn]] void bad(const std::string& where, const std::string& field, const std::string& msg) {
  throw InputError(where + ": field '" + field + "': " + msg);
}

void validate(const MultimodalNetOptions& o, const std::string& where) {
  bool known = false;
  for (const auto& s : kInputSets) known = known || s == o.inputs;
  if (!known) bad(where, "inputs", "'" + o.inputs + "' is not one of C, CM, D, DM, CD, CDM");
  bool arch_ok = false;
  for (const auto& a : backbone_architectures()) arch_ok = arch_ok || a == o.arch;
  if (!arch_ok) bad(where, "arch", "unknown architecture '" + o.arch + "'");
  if (o.heads.empty()) bad(where, "heads", "at least one head is needed");
  std::set<std::string> names;
  for (const auto& h : o.heads) {
    if (h.name.empty()) bad(where, "heads", "a head has an empty name");
    if (!names.insert(h.name).second) bad(where, "heads", "head '" + h.name + "' appears twice");
    if (h.classes.size() < 2) bad(where, "heads", "head '" + h.name + "' needs at least 2 classes");
    std::set<std::string> cls(h.classes.begin(), h.classes.end());
    if (cls.size() != h.classes.size()) bad(where, "heads", "head '" + h.name + "' repeats a class name");
  }
  if (o.hidden < 0) bad(where, "hidden", "must be >= 0");
  if (!(o.dropout >= 0 && o.dropout < 1)) bad(where, "dropout", "must be in [0, 1)");
  if (!(o.modality_dropout >= 0 && o.modality_dropout < 1)) bad(where, "modality_dropout", "must be in [0, 1)");
}

}  // namespace

bool MultimodalNetOptions::uses_clinic() const { return inputs.find('C') != std::string::npos; }
bool MultimodalNetOptions::uses_derm() const { return inputs.find('D') != std::string::npos; }
bool MultimodalNetOptions::uses_meta() const { return inputs.find('M') != std::string::npos; }

nlohmann::json MultimodalNetOptions::to_json() const {
  nlohmann::json hs = nlohmann::json::array();
  for (const auto& h : heads) hs.push_back({{"name", h.name}, {"classes", h.classes}});
  return {{"arch", arch},       {"inputs", inputs},   {"heads", hs},
          {"shared_backbone", shared_backbone},       {"hidden", hidden},
          {"dropout", dropout}, {"modality_dropout", modality_dropout}, {"freeze_bn", freeze_bn}};
}

MultimodalNetOptions MultimodalNetOptions::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": model options must be a JSON object");
  MultimodalNetOptions o;
  auto str = [&](const char* f, std::string& out) {
    if (!j.contains(f)) return;
    if (!j[f].is_string()) bad(where, f, "expected a string");
    out = j[f].get<std::string>();
  };
  auto num = [&](const char* f, double& out) {
    if (!j.contains(f)) return;
    if (!j[f].is_number()) bad(where, f, "expected a number");
    out = j[f].get<double>();
  };
  auto boolean = [&](const char* f, bool& out) {
    if (!j.contains(f)) return;
    if (!j[f].is_boolean()) bad(where, f, "expected true or false");
    out = j[f].get<bool>();
  };
  str("arch", o.arch);
  str("inputs", o.inputs);
  boolean("shared_backbone", o.shared_backbone);
  boolean("freeze_bn", o.freeze_bn);
  num("dropout", o.dropout);
  num("modality_dropout", o.modality_dropout);
  if (j.contains("hidden")) {
    if (!j["hidden"].is_number_integer()) bad(where, "hidden", "expected an integer");
    o.hidden = j["hidden"].get<int64_t>();
  }
  if (!j.contains("heads") || !j["heads"].is_array()) bad(where, "heads", "expected an array of {name, classes}");
  for (const auto& h : j["heads"]) {
    if (!h.is_object() || !h.contains("name") || !h["name"].is_string() || !h.contains("classes") ||
        !h["classes"].is_array())
      bad(where, "heads", "each head needs a string 'name' and an array 'classes'");
    HeadSpec spec;
    spec.name = h["name"].get<std::string>();
    for (const auto& c : h["classes"]) {
      if (!c.is_string()) bad(where, "heads", "head '" + spec.name + "': class names must be strings");
      spec.classes.push_back(c.get<std::string>());
    }
    o.heads.push_back(std::move(spec));
  }
  validate(o, where);
  return o;
}

MultimodalNetImpl::MultimodalNetImpl(const MultimodalNetOptions& options) : options_(options) {
  validate(options_, "model options");
  if (options_.uses_clinic() && options_.uses_derm() && options_.shared_backbone) {
    clinic_backbone_ = register_module("backbone", make_backbone(options_.arch, 0));
    derm_backbone_ = clinic_backbone_;
  } else {
    if (options_.uses_clinic()) {
      auto name = options_.uses_derm() ? "clinic_backbone" : "backbone";
      clinic_backbone_ = register_module(name, make_backbone(options_.arch, 0));
    }
    if (options_.uses_derm()) {
      auto name = options_.uses_clinic() ? "derm_backbone" : "backbone";
      derm_backbone_ = register_module(name, make_backbone(options_.arch, 0));
    }
  }
  int64_t in = fusion_dim();
  if (options_.hidden > 0) {
    hidden_ = register_module("hidden", torch::nn::Linear(in, options_.hidden));
    in = options_.hidden;
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
  for (const auto& h : options_.heads)
    heads_.emplace(h.name, register_module("head_" + h.name, torch::nn::Linear(in, static_cast<int64_t>(h.classes.size()))));
}

int64_t MultimodalNetImpl::embedding_dim() const {
  auto b = clinic_backbone_ ? clinic_backbone_ : derm_backbone_;
  return b->feature_dim();
}

int64_t MultimodalNetImpl::fusion_dim() const {
  int64_t images = (options_.uses_clinic() ? 1 : 0) + (options_.uses_derm() ? 1 : 0);
  return images * embedding_dim() + (options_.uses_meta() ? kMetaDims : 0) + 3;
}

std::shared_ptr<BackboneImpl> MultimodalNetImpl::backbone(const std::string& modality) {
  if (modality == "clinic" && clinic_backbone_) return clinic_backbone_;
  if (modality == "derm" && derm_backbone_) return derm_backbone_;
  throw InputError("model with inputs " + options_.inputs + " has no '" + modality + "' image input");
}

torch::Tensor MultimodalNetImpl::embed(const std::string& modality, const torch::Tensor& images) {
  auto map = backbone(modality)->features(images);
  return torch::adaptive_avg_pool2d(map, {1, 1}).flatten(1);
}

void MultimodalNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (!on || !options_.freeze_bn) return;
  for (auto& b : {clinic_backbone_, derm_backbone_}) {
    if (!b) continue;
    for (auto& m : b->modules(/*include_self=*/false))
      if (m->as<torch::nn::BatchNorm2d>()) m->eval();
  }
}

namespace {
// Batch size of whichever tensor is defined.
int64_t batch_size(std::initializer_list<const torch::Tensor*> ts) {
  for (auto* t : ts)
    if (t->defined() && t->dim() >= 1) return t->size(0);
  throw InputError("model input: the batch holds no tensors");
}

torch::Tensor presence(const torch::Tensor& flag, const torch::Tensor& data, int64_t n, bool used,
                       const char* what) {
  if (!used) return torch::zeros({n});
  if (flag.defined()) {
    if (flag.numel() != n) throw InputError(std::string("model input: ") + what + "_present has " +
                                            std::to_string(flag.numel()) + " values for a batch of " + std::to_string(n));
    return flag.to(torch::kFloat32).reshape({n});
  }
  return data.defined() ? torch::ones({n}) : torch::zeros({n});
}
}  // namespace

std::map<std::string, torch::Tensor> MultimodalNetImpl::forward(const MultimodalBatch& batch) {
  EmbeddingBatch e;
  e.meta = batch.meta;
  e.clinic_present = batch.clinic_present;
  e.derm_present = batch.derm_present;
  e.meta_present = batch.meta_present;
  // A modality that no sample has skips its backbone entirely; forward_embeddings zero-fills it.
  auto any = [](const torch::Tensor& p) { return !p.defined() || p.sum().item<double>() > 0; };
  if (options_.uses_clinic() && batch.clinic.defined() && any(batch.clinic_present))
    e.clinic = embed("clinic", batch.clinic);
  if (options_.uses_derm() && batch.derm.defined() && any(batch.derm_present)) e.derm = embed("derm", batch.derm);
  return forward_embeddings(e);
}

std::map<std::string, torch::Tensor> MultimodalNetImpl::forward_embeddings(const EmbeddingBatch& batch) {
  const int64_t n = batch_size({&batch.clinic, &batch.derm, &batch.meta, &batch.clinic_present, &batch.derm_present,
                                &batch.meta_present});
  const int64_t f = embedding_dim();
  auto pc = presence(batch.clinic_present, batch.clinic, n, options_.uses_clinic(), "clinic");
  auto pd = presence(batch.derm_present, batch.derm, n, options_.uses_derm(), "derm");
  auto pm = presence(batch.meta_present, batch.meta, n, options_.uses_meta(), "meta");
  if (is_training() && options_.modality_dropout > 0) {
    // Drop each present input independently, but never every input of a sample.
    auto keep = [&](const torch::Tensor& p) { return p * torch::bernoulli(torch::full({n}, 1.0 - options_.modality_dropout)); };
    auto qc = keep(pc), qd = keep(pd), qm = keep(pm);
    auto none_left = (qc + qd + qm) == 0;
    pc = torch::where(none_left, pc, qc);
    pd = torch::where(none_left, pd, qd);
    pm = torch::where(none_left, pm, qm);
  }
  std::vector<torch::Tensor> parts;
  auto image_part = [&](const torch::Tensor& emb, const torch::Tensor& p, const char* what) {
    if (!emb.defined()) return torch::zeros({n, f});
    if (emb.dim() != 2 || emb.size(0) != n || emb.size(1) != f)
      throw InputError(std::string("model input: ") + what + " embedding has shape " + c10::str(emb.sizes()) +
                       ", expected [" + std::to_string(n) + ", " + std::to_string(f) + "]");
    return emb * p.unsqueeze(1);
  };
  if (options_.uses_clinic()) parts.push_back(image_part(batch.clinic, pc, "clinic"));
  if (options_.uses_derm()) parts.push_back(image_part(batch.derm, pd, "derm"));
  if (options_.uses_meta()) {
    if (batch.meta.defined()) {
      if (batch.meta.dim() != 2 || batch.meta.size(0) != n || batch.meta.size(1) != kMetaDims)
        throw InputError("model input: meta has shape " + c10::str(batch.meta.sizes()) + ", expected [" +
                         std::to_string(n) + ", " + std::to_string(kMetaDims) + "]");
      parts.push_back(batch.meta.to(torch::kFloat32) * pm.unsqueeze(1));
    } else {
      parts.push_back(torch::zeros({n, kMetaDims}));
    }
  }
  parts.push_back(torch::stack({pc, pd, pm}, 1));
  auto x = torch::cat(parts, 1);
  if (hidden_) x = torch::relu(hidden_->forward(x));
  x = dropout_->forward(x);
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, head] : heads_) out[name] = head->forward(x);
  return out;
}

std::vector<torch::Tensor> MultimodalNetImpl::head_parameters() {
  std::vector<torch::Tensor> ps;
  if (hidden_)
    for (auto& p : hidden_->parameters()) ps.push_back(p);
  for (auto& [name, head] : heads_)
    for (auto& p : head->parameters()) ps.push_back(p);
  return ps;
}

std::vector<torch::Tensor> MultimodalNetImpl::backbone_parameters() {
  std::vector<torch::Tensor> ps;
  for (auto& p : clinic_backbone_ ? clinic_backbone_->parameters() : std::vector<torch::Tensor>{}) ps.push_back(p);
  if (derm_backbone_ && derm_backbone_ != clinic_backbone_)
    for (auto& p : derm_backbone_->parameters()) ps.push_back(p);
  return ps;
}

}  // namespace skintriage
