#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "eval/calibration.h"
#include "eval/metrics.h"
#include "eval/predictions_csv.h"
#include "model/checkpoint.h"
#include "model/factory.h"
#include "model/multimodal.h"
#include "model/preprocess.h"
#include "model/state_dict.h"
#include "train/augment.h"
#include "train/feature_cache.h"
#include "train/pipeline.h"
#include "train/progress.h"

namespace skintriage {

using json = nlohmann::json;
namespace F = torch::nn::functional;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ------------------------------------------------------------------ backbone and preprocessing

// "auto" means: the architecture of the weight file (its sidecar or its tensor names).
std::string resolve_arch(const TrainConfig& cfg) {
  if (cfg.arch != "auto") return cfg.arch;
  if (cfg.weights.empty()) return "mobilenet_v2";
  StateDict state = load_state_dict(cfg.weights);
  return resolve_preprocessing(cfg.weights, state, "", cfg.preprocessing, 0).arch;
}

std::vector<HeadSpec> active_heads(const Dataset& data, const TrainConfig& cfg, const std::string& where) {
  std::vector<HeadSpec> heads;
  for (const auto& name : cfg.heads) {
    if (name == "all") {
      for (const auto& h : data.heads)
        if (std::none_of(heads.begin(), heads.end(), [&](const HeadSpec& x) { return x.name == h.name; }))
          heads.push_back(h);
      continue;
    }
    const HeadSpec* h = data.head(name);
    if (!h) {
      std::string have;
      for (const auto& x : data.heads) have += (have.empty() ? "" : ", ") + x.name;
      throw InputError(located(where, 0, "heads", "the dataset has no head '" + name + "' (it has: " + have + ")"));
    }
    heads.push_back(*h);
  }
  return heads;
}

// ------------------------------------------------------------------ per-case inputs

struct CaseTable {
  int64_t n = 0;
  torch::Tensor meta, meta_present, clinic_present, derm_present;  // indexed by dataset position
  std::map<std::string, torch::Tensor> labels;                     // head -> int64 [n], -1 = unlabeled
};

CaseTable case_table(const Dataset& data, const std::vector<HeadSpec>& heads, const MultimodalNetOptions& opt) {
  CaseTable t;
  t.n = static_cast<int64_t>(data.cases.size());
  t.meta = torch::zeros({t.n, kMetaDims});
  t.meta_present = torch::zeros({t.n});
  t.clinic_present = torch::zeros({t.n});
  t.derm_present = torch::zeros({t.n});
  auto meta = t.meta.accessor<float, 2>();
  for (int64_t i = 0; i < t.n; ++i) {
    const Case& c = data.cases[static_cast<size_t>(i)];
    if (c.has_meta) {
      for (int k = 0; k < kMetaDims; ++k) meta[i][k] = c.meta[static_cast<size_t>(k)];
      t.meta_present[i] = 1.0f;
    }
    if (!c.clinic_path.empty()) t.clinic_present[i] = 1.0f;
    if (!c.derm_path.empty()) t.derm_present[i] = 1.0f;
  }
  (void)opt;
  for (const auto& h : heads) {
    torch::Tensor y = torch::full({t.n}, -1, torch::kInt64);
    auto a = y.accessor<int64_t, 1>();
    for (int64_t i = 0; i < t.n; ++i) {
      const auto& labels = data.cases[static_cast<size_t>(i)].labels;
      auto it = labels.find(h.name);
      if (it != labels.end() && it->second >= 0 && it->second < static_cast<int>(h.classes.size())) a[i] = it->second;
    }
    t.labels[h.name] = y;
  }
  return t;
}

torch::Tensor index_tensor(const std::vector<int>& positions) {
  std::vector<int64_t> v(positions.begin(), positions.end());
  return torch::tensor(v, torch::kInt64);
}

// ------------------------------------------------------------------ logits providers

// Computes head logits for a list of positions, in batches. The two modes differ only here.
struct LogitsSource {
  virtual ~LogitsSource() = default;
  /// One training step's logits for `positions`, with the randomness of (epoch_seed).
  virtual std::map<std::string, torch::Tensor> train_logits(const std::vector<int>& positions, uint64_t epoch_seed) = 0;
  /// Evaluation logits (no augmentation, eval mode, no grad) for all `positions`, concatenated.
  virtual std::map<std::string, torch::Tensor> eval_logits(const std::vector<int>& positions) = 0;
  /// Training batches of an epoch (positions per batch) run through `step`; lets the image source
  /// prefetch ahead.
  virtual void run_epoch(const std::vector<std::vector<int>>& batches, uint64_t epoch_seed,
                         const std::function<void(size_t, const std::map<std::string, torch::Tensor>&)>& step) {
    for (size_t b = 0; b < batches.size(); ++b) step(b, train_logits(batches[b], epoch_seed));
  }
};

std::map<std::string, torch::Tensor> concat_logits(std::vector<std::map<std::string, torch::Tensor>>& parts) {
  std::map<std::string, torch::Tensor> out;
  if (parts.empty()) return out;
  for (const auto& [name, _] : parts.front()) {
    std::vector<torch::Tensor> ts;
    for (auto& p : parts) ts.push_back(p[name]);
    out[name] = torch::cat(ts);
  }
  return out;
}

class FeatureSource : public LogitsSource {
 public:
  FeatureSource(MultimodalNet net, const CaseTable& table, torch::Tensor clinic, torch::Tensor derm, int views,
                std::vector<int> view_count, int batch)
      : net_(net), table_(table), clinic_(clinic), derm_(derm), views_(views), view_count_(std::move(view_count)),
        batch_(batch) {}

  EmbeddingBatch batch(const std::vector<int>& positions, const std::vector<int64_t>& views) {
    torch::Tensor idx = index_tensor(positions);
    torch::Tensor vidx = torch::tensor(views, torch::kInt64);
    EmbeddingBatch b;
    const auto& o = net_->options();
    if (o.uses_clinic()) {
      b.clinic = clinic_.index({idx, vidx});
      b.clinic_present = table_.clinic_present.index_select(0, idx);
    }
    if (o.uses_derm()) {
      b.derm = derm_.index({idx, vidx});
      b.derm_present = table_.derm_present.index_select(0, idx);
    }
    b.meta = table_.meta.index_select(0, idx);
    b.meta_present = o.uses_meta() ? table_.meta_present.index_select(0, idx) : torch::zeros({idx.size(0)});
    return b;
  }

  std::map<std::string, torch::Tensor> train_logits(const std::vector<int>& positions, uint64_t epoch_seed) override {
    // The view of each case is a function of (epoch seed, case position) only.
    std::vector<int64_t> views(positions.size());
    for (size_t i = 0; i < positions.size(); ++i) {
      int vc = view_count_[static_cast<size_t>(positions[i])];
      views[i] = vc <= 1 ? 0 : static_cast<int64_t>(SplitMix(mix_seed(epoch_seed ^ 0x5157ULL, static_cast<uint64_t>(positions[i]))).below(static_cast<uint64_t>(vc)));
    }
    return net_->forward_embeddings(batch(positions, views));
  }

  std::map<std::string, torch::Tensor> eval_logits(const std::vector<int>& positions) override {
    std::vector<std::map<std::string, torch::Tensor>> parts;
    for (size_t b = 0; b < positions.size(); b += 256) {
      std::vector<int> chunk(positions.begin() + static_cast<long>(b),
                             positions.begin() + static_cast<long>(std::min(positions.size(), b + 256)));
      parts.push_back(net_->forward_embeddings(batch(chunk, std::vector<int64_t>(chunk.size(), 0))));
    }
    return concat_logits(parts);
  }

 private:
  MultimodalNet net_;
  const CaseTable& table_;
  torch::Tensor clinic_, derm_;  // [n, views, F] (zeros where absent)
  int views_;
  std::vector<int> view_count_;
  int batch_;
};

// Images decoded (and cached), augmented and converted by worker threads, ahead of compute.
class ImageSource : public LogitsSource {
 public:
  ImageSource(MultimodalNet net, const Dataset& data, const CaseTable& table, const Preprocessing& pre,
              const AugmentConfig& augment, int crop_border, int workers, size_t cache_bytes, int eval_batch,
              bool progress)
      : net_(net), data_(data), table_(table), pre_(pre), augment_(augment), workers_(workers),
        store_(crop_border, cache_bytes), eval_batch_(eval_batch), progress_(progress) {}

  MultimodalBatch make_batch(const std::vector<int>& positions, bool train, uint64_t epoch_seed) {
    MultimodalBatch b;
    const auto& o = net_->options();
    torch::Tensor idx = index_tensor(positions);
    const int64_t s = pre_.input_size;
    auto images = [&](bool clinic) {
      std::vector<torch::Tensor> ts;
      for (int pos : positions) {
        const Case& c = data_.cases[static_cast<size_t>(pos)];
        const std::string& path = clinic ? c.clinic_path : c.derm_path;
        if (path.empty()) {
          ts.push_back(torch::zeros({3, s, s}));
          continue;
        }
        uint64_t seed = mix_seed(mix_seed(epoch_seed, static_cast<uint64_t>(pos)), clinic ? 1 : 2);
        ts.push_back(prepare_image(store_.get(path), pre_, train ? &augment_ : nullptr, seed));
      }
      return torch::stack(ts);
    };
    if (o.uses_clinic()) {
      b.clinic = images(true);
      b.clinic_present = table_.clinic_present.index_select(0, idx);
    }
    if (o.uses_derm()) {
      b.derm = images(false);
      b.derm_present = table_.derm_present.index_select(0, idx);
    }
    b.meta = table_.meta.index_select(0, idx);
    b.meta_present = o.uses_meta() ? table_.meta_present.index_select(0, idx) : torch::zeros({idx.size(0)});
    return b;
  }

  std::map<std::string, torch::Tensor> train_logits(const std::vector<int>& positions, uint64_t epoch_seed) override {
    return net_->forward(make_batch(positions, true, epoch_seed));
  }

  void run_epoch(const std::vector<std::vector<int>>& batches, uint64_t epoch_seed,
                 const std::function<void(size_t, const std::map<std::string, torch::Tensor>&)>& step) override {
    OrderedPrefetcher<MultimodalBatch> pf(batches.size(), workers_, static_cast<size_t>(workers_ + 1),
                                          [&](size_t b) { return make_batch(batches[b], true, epoch_seed); });
    for (size_t b = 0; b < batches.size(); ++b) step(b, net_->forward(pf.next()));
  }

  std::map<std::string, torch::Tensor> eval_logits(const std::vector<int>& positions) override {
    std::vector<std::vector<int>> chunks;
    for (size_t b = 0; b < positions.size(); b += static_cast<size_t>(eval_batch_))
      chunks.emplace_back(positions.begin() + static_cast<long>(b),
                          positions.begin() + static_cast<long>(std::min(positions.size(), b + eval_batch_)));
    OrderedPrefetcher<MultimodalBatch> pf(chunks.size(), workers_, static_cast<size_t>(workers_ + 1),
                                          [&](size_t b) { return make_batch(chunks[b], false, 0); });
    std::vector<std::map<std::string, torch::Tensor>> parts;
    for (size_t b = 0; b < chunks.size(); ++b) parts.push_back(net_->forward(pf.next()));
    return concat_logits(parts);
  }

 private:
  MultimodalNet net_;
  const Dataset& data_;
  const CaseTable& table_;
  Preprocessing pre_;
  AugmentConfig augment_;
  int workers_;
  ImageStore store_;
  int eval_batch_;
  bool progress_;
};

// ------------------------------------------------------------------ loss, metrics, selection

struct HeadLoss {
  std::string name;
  double weight = 1;
  torch::Tensor class_weights;  // [K] or undefined
};

torch::Tensor multitask_loss(const std::map<std::string, torch::Tensor>& logits, const std::vector<HeadLoss>& heads,
                             const CaseTable& table, const torch::Tensor& idx) {
  torch::Tensor total = torch::zeros({});
  for (const auto& h : heads) {
    torch::Tensor y = table.labels.at(h.name).index_select(0, idx);
    torch::Tensor mask = y.ge(0);
    if (mask.sum().item<int64_t>() == 0) continue;
    auto opts = F::CrossEntropyFuncOptions();
    if (h.class_weights.defined()) opts = opts.weight(h.class_weights);
    torch::Tensor l = F::cross_entropy(logits.at(h.name).index({mask}), y.index({mask}), opts);
    total = total + h.weight * l;
  }
  return total;
}

std::vector<std::vector<double>> to_rows(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat64).contiguous();
  std::vector<std::vector<double>> rows(static_cast<size_t>(c.size(0)));
  const double* p = c.data_ptr<double>();
  for (int64_t i = 0; i < c.size(0); ++i) rows[static_cast<size_t>(i)].assign(p + i * c.size(1), p + (i + 1) * c.size(1));
  return rows;
}

HeadPredictions make_predictions(const HeadSpec& head, const Dataset& data, const std::vector<int>& positions,
                                 const torch::Tensor& logits, double temperature) {
  HeadPredictions p;
  p.head = head;
  p.logits = to_rows(logits);
  p.probs = apply_temperature(p.logits, temperature);
  for (int pos : positions) {
    const Case& c = data.cases[static_cast<size_t>(pos)];
    p.case_ids.push_back(c.id);
    auto it = c.labels.find(head.name);
    p.labels.push_back(it != c.labels.end() && it->second >= 0 && it->second < static_cast<int>(head.classes.size())
                           ? it->second
                           : -1);
  }
  return p;
}

// Labelled subset of a head's predictions (labels, probs).
void labelled(const HeadPredictions& p, std::vector<int>& labels, std::vector<std::vector<double>>& probs,
              std::vector<std::vector<double>>* logits = nullptr) {
  for (size_t i = 0; i < p.labels.size(); ++i) {
    if (p.labels[i] < 0) continue;
    labels.push_back(p.labels[i]);
    probs.push_back(p.probs[i]);
    if (logits) logits->push_back(p.logits[i]);
  }
}

ClassificationMetrics head_classification(const HeadPredictions& p, bool& ok) {
  std::vector<int> labels;
  std::vector<std::vector<double>> probs;
  labelled(p, labels, probs);
  ok = !labels.empty();
  if (!ok) return {};
  MetricsOptions mo;
  mo.excision_class = p.head.name == "MGMT" ? class_index(p.head.classes, "EXC") : -1;
  return compute_metrics(labels, probs, p.head.classes, mo);
}

// ------------------------------------------------------------------ schedule

double lr_factor(const TrainConfig& cfg, long step, long steps_per_epoch) {
  const long warm = static_cast<long>(cfg.warmup_epochs) * steps_per_epoch;
  const long total = static_cast<long>(cfg.epochs) * steps_per_epoch;
  if (step < warm) return static_cast<double>(step + 1) / static_cast<double>(warm);
  if (cfg.schedule == "constant" || total <= warm) return 1.0;
  double progress = static_cast<double>(step - warm) / static_cast<double>(total - warm);
  return 0.5 * (1.0 + std::cos(M_PI * progress));
}

// ------------------------------------------------------------------ trainable state

struct NamedTensor {
  std::string name;
  torch::Tensor tensor;
};

// What a checkpoint must restore: every parameter in fine-tune mode; only the fusion heads in
// features mode (the frozen backbone is rebuilt identically from the weights and the seed).
std::vector<NamedTensor> trainable_state(MultimodalNet& net, bool finetune) {
  std::set<const void*> head_ptrs;
  for (const auto& t : net->head_parameters()) head_ptrs.insert(t.unsafeGetTensorImpl());
  std::vector<NamedTensor> out;
  for (const auto& p : net->named_parameters())
    if (finetune || head_ptrs.count(p.value().unsafeGetTensorImpl())) out.push_back({p.key(), p.value()});
  if (finetune)
    for (const auto& b : net->named_buffers()) out.push_back({b.key(), b.value()});
  return out;
}

std::vector<torch::Tensor> snapshot(const std::vector<NamedTensor>& state) {
  std::vector<torch::Tensor> s;
  for (const auto& n : state) s.push_back(n.tensor.detach().clone());
  return s;
}

void restore(const std::vector<NamedTensor>& state, const std::vector<torch::Tensor>& values) {
  torch::NoGradGuard g;
  for (size_t i = 0; i < state.size(); ++i) state[i].tensor.copy_(values[i]);
}

// Settings that may differ on resume without changing the result.
json comparable_config(const TrainConfig& c) {
  json j = c.to_json();
  for (const char* k : {"threads", "workers", "image_cache_mb", "progress", "cache_dir"}) j.erase(k);
  return j;
}

struct LogRow {
  int epoch = 0;
  double train_loss = 0, valid_loss = 0, valid_metric = 0, lr = 0, seconds = 0;
};

std::string log_csv(const std::vector<LogRow>& rows) {
  std::string out = "epoch,train_loss,valid_loss,valid_metric,lr,seconds\n";
  auto num = [](double v) {
    if (!std::isfinite(v)) return std::string("nan");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::string(buf);
  };
  for (const auto& r : rows)
    out += std::to_string(r.epoch) + "," + num(r.train_loss) + "," + num(r.valid_loss) + "," + num(r.valid_metric) +
           "," + num(r.lr) + "," + fixed(r.seconds, 3) + "\n";
  return out;
}

json rows_json(const std::vector<LogRow>& rows) {
  json a = json::array();
  for (const auto& r : rows)
    a.push_back({r.epoch, r.train_loss, r.valid_loss, std::isfinite(r.valid_metric) ? json(r.valid_metric) : json(),
                 r.lr, r.seconds});
  return a;
}

std::vector<LogRow> rows_from_json(const json& a) {
  std::vector<LogRow> rows;
  for (const auto& e : a) {
    LogRow r;
    r.epoch = e[0].get<int>();
    r.train_loss = e[1].get<double>();
    r.valid_loss = e[2].get<double>();
    r.valid_metric = e[3].is_null() ? std::numeric_limits<double>::quiet_NaN() : e[3].get<double>();
    r.lr = e[4].get<double>();
    r.seconds = e[5].get<double>();
    rows.push_back(r);
  }
  return rows;
}

std::string archive_bytes(torch::serialize::OutputArchive& ar) {
  std::ostringstream ss;
  ar.save_to(ss);
  return ss.str();
}

}  // namespace

// ====================================================================== public API

SplitSpec SplitSpec::from_dataset(const Dataset& data) {
  SplitSpec s;
  s.train = data.split("train");
  s.valid = data.split("valid");
  auto it = data.splits.find("test");
  if (it != data.splits.end()) s.test = it->second;
  return s;
}

std::string resolve_model_dir(const std::string& path) {
  if (file_exists(join_path(path, "model.json"))) return path;
  std::string sub = join_path(path, "model");
  if (file_exists(join_path(sub, "model.json"))) return sub;
  throw InputError(path + ": not a model folder (no model.json here or in model/)");
}

void write_head_predictions(const std::string& path, const HeadPredictions& p) {
  Predictions out;
  out.source = path;
  out.classes = p.head.classes;
  for (size_t i = 0; i < p.labels.size(); ++i) {
    if (p.labels[i] < 0) continue;
    out.cases.push_back(p.case_ids[i]);
    out.labels.push_back(p.labels[i]);
    out.probs.push_back(p.probs[i]);
  }
  if (out.labels.empty()) return;  // a predictions CSV holds labelled cases only
  write_predictions_csv(path, out);
}

DecisionPolicy management_policy(const HeadPredictions& valid, double min_sensitivity) {
  if (!(min_sensitivity > 0)) return DecisionPolicy{};
  std::vector<int> labels;
  std::vector<std::vector<double>> probs;
  labelled(valid, labels, probs);
  return threshold_policy_for_sensitivity(labels, probs, valid.head.classes, "EXC", min_sensitivity, "valid");
}

json management_operating_point(const DecisionPolicy& policy, const HeadPredictions& predictions) {
  std::vector<int> labels;
  std::vector<std::vector<double>> probs;
  labelled(predictions, labels, probs);
  if (labels.empty()) return nullptr;
  return policy_report(policy, labels, probs, predictions.head.classes);
}

DecisionPolicy saved_management_policy(const std::string& model_dir) {
  const std::string path = join_path(resolve_model_dir(model_dir), "model.json");
  json j;
  try {
    j = json::parse(read_text_file(path));
  } catch (const json::exception& e) {
    throw InputError(path + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object() || !j.contains("policy") || j["policy"].is_null()) return DecisionPolicy{};
  return policy_from_json(j["policy"], path + ": policy");
}

json head_metrics(const SplitPredictions& predictions) {
  json out = json::object();
  for (const auto& [name, p] : predictions) {
    bool ok = false;
    ClassificationMetrics m = head_classification(p, ok);
    if (ok) out[name] = to_json(m);
  }
  return out;
}

TrainResult run_training(const Dataset& data, const TrainConfig& config_in, const std::string& run_dir,
                         const SplitSpec& split, const RunOptions& options) {
  const double t_start = now_seconds();
  TrainConfig cfg = config_in;
  const std::string where = join_path(run_dir, "config.json");
  cfg.validate(where);
  if (split.train.empty()) throw InputError(data.source + ": the training split is empty");
  if (split.valid.empty()) throw InputError(data.source + ": the validation split is empty (needed for model selection)");
  for (const auto* part : {&split.train, &split.valid, &split.test})
    for (int pos : *part)
      if (pos < 0 || static_cast<size_t>(pos) >= data.cases.size())
        throw InputError(data.source + ": split position " + std::to_string(pos) + " is out of range");
  if (cfg.threads > 0) torch::set_num_threads(cfg.threads);
  const bool finetune = cfg.mode == "finetune";
  const int crop = cfg.crop_border >= 0 ? cfg.crop_border : data.crop_border;
  std::vector<HeadSpec> heads = active_heads(data, cfg, where);
  cfg.heads.clear();
  for (const auto& h : heads) cfg.heads.push_back(h.name);  // "all" expanded: the saved config is explicit
  cfg.validate(where);
  if (cfg.min_excision_sensitivity > 0) {
    auto mgmt = std::find_if(heads.begin(), heads.end(), [](const HeadSpec& h) { return h.name == "MGMT"; });
    if (mgmt == heads.end() || class_index(mgmt->classes, "EXC") < 0)
      throw InputError(where + ": min_excision_sensitivity needs the MGMT head with an EXC class among the heads");
  }
  const std::string metric_name = cfg.resolved_selection_metric();
  cfg.arch = resolve_arch(cfg);
  cfg.crop_border = crop;

  // Resume: the saved config must match.
  const std::string ckpt_json = join_path(run_dir, "checkpoint.json");
  const std::string ckpt_pth = join_path(run_dir, "checkpoint.pth");
  json ckpt;
  if (options.resume) {
    if (!file_exists(ckpt_json) || !file_exists(ckpt_pth))
      throw InputError(run_dir + ": nothing to resume (no checkpoint.json / checkpoint.pth)");
    try {
      ckpt = json::parse(read_text_file(ckpt_json));
    } catch (const json::parse_error& e) {
      throw InputError(ckpt_json + ": not valid JSON: " + e.what());
    }
    TrainConfig saved = TrainConfig::from_json(ckpt.at("config"), ckpt_json);
    if (comparable_config(saved) != comparable_config(cfg))
      throw InputError(run_dir + ": the config differs from the one of the interrupted run (see " + where + ")");
  }
  make_dirs(run_dir);
  write_file_atomic(where, cfg.to_json().dump(2) + "\n");

  // Network: one seed fixes the initialisation.
  MultimodalNetOptions mo;
  mo.arch = cfg.arch;
  mo.inputs = cfg.inputs;
  mo.heads = heads;
  mo.shared_backbone = cfg.shared_backbone;
  mo.hidden = cfg.hidden;
  mo.dropout = cfg.dropout;
  mo.modality_dropout = cfg.modality_dropout;
  mo.freeze_bn = true;
  torch::manual_seed(cfg.seed);
  ModelBundle bundle = make_pretrained_model(mo, cfg.weights, cfg.preprocessing, cfg.image_size);
  MultimodalNet net = bundle.net;
  const Preprocessing& preprocessing = bundle.preprocessing;

  CaseTable table = case_table(data, heads, mo);
  TrainResult result;
  result.run_dir = run_dir;

  // Inputs: cached embeddings (features) or the image pipeline (finetune).
  std::unique_ptr<LogitsSource> source;
  if (!finetune) {
    std::string cache_dir = cfg.cache_dir;
    if (cache_dir.empty()) {
      std::string parent = std::filesystem::path(run_dir).lexically_normal().parent_path().string();
      cache_dir = join_path(parent.empty() ? "." : parent, ".skintriage_cache");
    } else if (cache_dir == "none") {
      cache_dir.clear();
    }
    FeatureCache cache(cache_dir);
    std::vector<int> view_count(data.cases.size(), 0);
    for (int pos : split.valid) view_count[static_cast<size_t>(pos)] = 1;
    for (int pos : split.test) view_count[static_cast<size_t>(pos)] = 1;
    for (int pos : split.train) view_count[static_cast<size_t>(pos)] = cfg.augment.enabled ? cfg.feature_views : 1;
    const int views = *std::max_element(view_count.begin(), view_count.end());
    const int64_t dim = net->embedding_dim();
    torch::Tensor emb[2] = {torch::zeros({table.n, views, dim}), torch::zeros({table.n, views, dim})};
    net->eval();
    for (int m = 0; m < 2; ++m) {
      const bool clinic = m == 0;
      if (clinic ? !mo.uses_clinic() : !mo.uses_derm()) continue;
      auto backbone = net->backbone(clinic ? "clinic" : "derm");
      FeatureSettings fs;
      fs.backbone_hash = module_hash(*backbone);
      fs.preprocessing = preprocessing;
      fs.crop_border = crop;
      fs.augment = cfg.augment;
      std::vector<std::string> paths;
      std::vector<int> want;
      std::vector<int64_t> owners;
      std::map<std::string, size_t> unique;
      std::vector<std::pair<int64_t, size_t>> links;
      for (size_t i = 0; i < data.cases.size(); ++i) {
        const std::string& path = clinic ? data.cases[i].clinic_path : data.cases[i].derm_path;
        if (path.empty() || view_count[i] == 0) continue;
        auto it = unique.find(path);
        if (it == unique.end()) {
          it = unique.emplace(path, paths.size()).first;
          paths.push_back(path);
          want.push_back(0);
        }
        want[it->second] = std::max(want[it->second], view_count[i]);
        links.emplace_back(static_cast<int64_t>(i), it->second);
      }
      const char* modality = clinic ? "clinic" : "derm";
      auto embs = cache.embeddings(
          paths, want, fs, [&](const torch::Tensor& x) { return net->embed(modality, x); }, cfg.workers, 32,
          cfg.progress);
      for (const auto& [pos, k] : links) {
        int64_t nv = std::min<int64_t>(embs[k].size(0), view_count[static_cast<size_t>(pos)]);
        emb[m][pos].slice(0, 0, nv).copy_(embs[k].slice(0, 0, nv));
      }
    }
    result.cache_hits = static_cast<int>(cache.hits());
    result.cache_misses = static_cast<int>(cache.misses());
    result.extract_seconds = cache.compute_seconds();
    source = std::make_unique<FeatureSource>(net, table, emb[0], emb[1], views, view_count, cfg.batch_size);
  } else {
    source = std::make_unique<ImageSource>(net, data, table, preprocessing, cfg.augment, crop, cfg.workers,
                                           static_cast<size_t>(cfg.image_cache_mb) << 20, cfg.batch_size,
                                           cfg.progress);
  }

  // Loss weights (balanced: inverse class frequency on the training split).
  std::vector<HeadLoss> losses;
  torch::Tensor train_idx = index_tensor(split.train);
  for (const auto& h : heads) {
    HeadLoss hl;
    hl.name = h.name;
    hl.weight = cfg.head_weight(h.name);
    if (cfg.class_weighting == "balanced") {
      torch::Tensor y = table.labels[h.name].index_select(0, train_idx);
      y = y.index({y.ge(0)});
      const int64_t k = static_cast<int64_t>(h.classes.size());
      torch::Tensor counts = torch::bincount(y, {}, k).to(torch::kFloat32);
      torch::Tensor w = torch::where(counts > 0, y.size(0) / (static_cast<double>(k) * counts.clamp_min(1)),
                                     torch::ones_like(counts));
      hl.class_weights = w;
    }
    losses.push_back(hl);
  }

  // Optimiser: heads at lr, the backbone (fine-tune) at lr * backbone_lr_scale.
  std::vector<torch::Tensor> head_params = net->head_parameters();
  std::vector<torch::Tensor> backbone_params = finetune ? net->backbone_parameters() : std::vector<torch::Tensor>{};
  if (!finetune)
    for (auto& p : net->backbone_parameters()) p.set_requires_grad(false);
  std::vector<double> group_scale{1.0};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (cfg.optimizer == "adamw") {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(head_params, std::make_unique<torch::optim::AdamWOptions>(
                                         torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay)));
    if (!backbone_params.empty()) {
      groups.emplace_back(backbone_params,
                          std::make_unique<torch::optim::AdamWOptions>(
                              torch::optim::AdamWOptions(cfg.lr * cfg.backbone_lr_scale).weight_decay(cfg.weight_decay)));
      group_scale.push_back(cfg.backbone_lr_scale);
    }
    optimizer = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay));
  } else {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    auto sgd = [&](double lr) {
      return std::make_unique<torch::optim::SGDOptions>(
          torch::optim::SGDOptions(lr).momentum(cfg.momentum).weight_decay(cfg.weight_decay));
    };
    groups.emplace_back(head_params, sgd(cfg.lr));
    if (!backbone_params.empty()) {
      groups.emplace_back(backbone_params, sgd(cfg.lr * cfg.backbone_lr_scale));
      group_scale.push_back(cfg.backbone_lr_scale);
    }
    optimizer = std::make_unique<torch::optim::SGD>(
        groups, torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).weight_decay(cfg.weight_decay));
  }

  const bool lower_better = metric_name == "valid_loss" ||
                            (metric_name.find('.') != std::string::npos &&
                             !higher_is_better(metric_name.substr(metric_name.find('.') + 1)));
  std::vector<NamedTensor> state = trainable_state(net, finetune);
  std::vector<torch::Tensor> best_state = snapshot(state);
  std::vector<LogRow> rows;
  int start_epoch = 0, best_epoch = 0, since_best = 0;
  double best_metric = std::numeric_limits<double>::quiet_NaN();
  bool stopped_early = false;

  if (options.resume) {
    torch::serialize::InputArchive ar;
    std::istringstream in(read_text_file(ckpt_pth));
    try {
      ar.load_from(in);
      auto names = ckpt.at("names").get<std::vector<std::string>>();
      if (names.size() != state.size())
        throw InputError(ckpt_pth + ": checkpoint holds " + std::to_string(names.size()) + " tensors, the model " +
                         std::to_string(state.size()));
      std::vector<torch::Tensor> current(state.size()), best(state.size());
      for (size_t i = 0; i < state.size(); ++i) {
        if (names[i] != state[i].name) throw InputError(ckpt_pth + ": tensor '" + names[i] + "' where '" + state[i].name + "' was expected");
        ar.read("p" + std::to_string(i), current[i]);
        ar.read("b" + std::to_string(i), best[i]);
      }
      restore(state, current);
      best_state = best;
      torch::serialize::InputArchive opt_ar;
      ar.read("optimizer", opt_ar);
      optimizer->load(opt_ar);
    } catch (const c10::Error& e) {
      throw InputError(ckpt_pth + ": unreadable checkpoint: " + e.what_without_backtrace());
    }
    start_epoch = ckpt.at("epoch").get<int>();
    best_epoch = ckpt.at("best_epoch").get<int>();
    best_metric = ckpt.at("best_metric").is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                   : ckpt.at("best_metric").get<double>();
    since_best = ckpt.at("since_best").get<int>();
    stopped_early = ckpt.value("stopped_early", false);
    rows = rows_from_json(ckpt.at("log"));
    progress_line(cfg.progress, "resuming " + run_dir + " after epoch " + std::to_string(start_epoch));
  }

  // ---------------------------------------------------------------- epochs
  std::vector<int> train_positions = split.train;
  const size_t bs = static_cast<size_t>(cfg.batch_size);
  const long steps_per_epoch = static_cast<long>((train_positions.size() + bs - 1) / bs);
  torch::Tensor valid_idx = index_tensor(split.valid);
  int epochs_this_call = 0;
  for (int epoch = start_epoch; epoch < cfg.epochs && !stopped_early; ++epoch) {
    if (options.stop_after_epochs > 0 && epochs_this_call >= options.stop_after_epochs) break;
    const double t0 = now_seconds();
    const uint64_t epoch_seed = mix_seed(cfg.seed, static_cast<uint64_t>(epoch) + 1);
    torch::manual_seed(epoch_seed);  // dropout and modality dropout of this epoch
    // Data order: a Fisher-Yates shuffle driven by the epoch seed.
    std::vector<int> order = train_positions;
    SplitMix rng(mix_seed(epoch_seed, 0xD47AULL));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    std::vector<std::vector<int>> batches;
    for (size_t b = 0; b < order.size(); b += bs)
      batches.emplace_back(order.begin() + static_cast<long>(b),
                           order.begin() + static_cast<long>(std::min(order.size(), b + bs)));
    net->train();
    double loss_sum = 0, lr_now = cfg.lr;
    long seen = 0;
    Progress bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs),
                 static_cast<long>(order.size()), "img", cfg.progress && finetune);
    source->run_epoch(batches, epoch_seed, [&](size_t b, const std::map<std::string, torch::Tensor>& logits) {
      const long step = static_cast<long>(epoch) * steps_per_epoch + static_cast<long>(b);
      lr_now = cfg.lr * lr_factor(cfg, step, steps_per_epoch);
      for (size_t g = 0; g < optimizer->param_groups().size(); ++g)
        optimizer->param_groups()[g].options().set_lr(lr_now * group_scale[g]);
      torch::Tensor loss = multitask_loss(logits, losses, table, index_tensor(batches[b]));
      optimizer->zero_grad();
      if (loss.requires_grad()) {
        loss.backward();
        optimizer->step();
      }
      loss_sum += loss.item<double>() * static_cast<double>(batches[b].size());
      seen += static_cast<long>(batches[b].size());
      bar.update(seen, "loss " + fixed(loss_sum / static_cast<double>(seen), 4));
    });
    bar.finish();

    // Validation.
    net->eval();
    double valid_loss, metric;
    {
      torch::NoGradGuard no_grad;
      auto logits = source->eval_logits(split.valid);
      valid_loss = multitask_loss(logits, losses, table, valid_idx).item<double>();
      if (metric_name == "valid_loss") {
        metric = valid_loss;
      } else {
        const std::string head = metric_name.substr(0, metric_name.find('.'));
        const std::string name = metric_name.substr(metric_name.find('.') + 1);
        auto hs = std::find_if(heads.begin(), heads.end(), [&](const HeadSpec& h) { return h.name == head; });
        HeadPredictions p = make_predictions(*hs, data, split.valid, logits.at(head), 1.0);
        bool ok = false;
        ClassificationMetrics m = head_classification(p, ok);
        metric = ok ? metric_by_name(m, name) : std::numeric_limits<double>::quiet_NaN();
      }
    }
    bool improved = best_epoch == 0 ||
                    (std::isfinite(metric) && (!std::isfinite(best_metric) ||
                                               (lower_better ? metric < best_metric : metric > best_metric)));
    if (improved) {
      best_epoch = epoch + 1;
      best_metric = metric;
      best_state = snapshot(state);
      since_best = 0;
    } else {
      ++since_best;
      if (cfg.patience > 0 && since_best >= cfg.patience) stopped_early = true;
    }
    LogRow row{epoch + 1, loss_sum / std::max<long>(1, seen), valid_loss, metric, lr_now, now_seconds() - t0};
    rows.push_back(row);
    ++epochs_this_call;
    progress_line(cfg.progress, "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs) +
                                    "  train_loss " + fixed(row.train_loss, 4) + "  valid_loss " +
                                    fixed(row.valid_loss, 4) + "  " + metric_name + " " + fixed(metric, 4) +
                                    (improved ? " *" : "") + "  lr " + fixed(lr_now, 6) + "  " +
                                    fixed(row.seconds, 2) + "s");

    // Atomic checkpoint of this epoch (tensors first, then the JSON that points at them).
    torch::serialize::OutputArchive ar;
    std::vector<torch::Tensor> current = snapshot(state);
    std::vector<std::string> names;
    for (size_t i = 0; i < state.size(); ++i) {
      ar.write("p" + std::to_string(i), current[i]);
      ar.write("b" + std::to_string(i), best_state[i]);
      names.push_back(state[i].name);
    }
    torch::serialize::OutputArchive opt_ar;
    optimizer->save(opt_ar);
    ar.write("optimizer", opt_ar);
    write_file_atomic(ckpt_pth, archive_bytes(ar));
    json cj{{"epoch", epoch + 1},
            {"best_epoch", best_epoch},
            {"best_metric", std::isfinite(best_metric) ? json(best_metric) : json()},
            {"since_best", since_best},
            {"stopped_early", stopped_early},
            {"selection_metric", metric_name},
            {"names", names},
            {"log", rows_json(rows)},
            {"config", cfg.to_json()}};
    write_file_atomic(ckpt_json, cj.dump(1) + "\n");
    write_file_atomic(join_path(run_dir, "log.csv"), log_csv(rows));
  }
  result.epochs_run = rows.empty() ? 0 : rows.back().epoch;
  result.best_epoch = best_epoch;
  result.best_metric = best_metric;
  result.selection_metric = metric_name;
  const bool finished = stopped_early || result.epochs_run >= cfg.epochs;
  if (!finished) {  // interrupted on purpose (stop_after_epochs): the checkpoint is the result
    result.seconds = now_seconds() - t_start;
    return result;
  }

  // ---------------------------------------------------------------- the best model, calibrated
  restore(state, best_state);
  net->eval();
  std::map<std::string, torch::Tensor> valid_logits, test_logits;
  {
    torch::NoGradGuard no_grad;
    valid_logits = source->eval_logits(split.valid);
    if (!split.test.empty()) test_logits = source->eval_logits(split.test);
  }
  json temps = json::object();
  for (const auto& h : heads) {
    HeadPredictions v = make_predictions(h, data, split.valid, valid_logits.at(h.name), 1.0);
    std::vector<int> labels;
    std::vector<std::vector<double>> probs, logits;
    labelled(v, labels, probs, &logits);
    double t = 1.0;
    if (!labels.empty()) t = fit_temperature(logits, labels).temperature;
    result.temperature[h.name] = t;
    temps[h.name] = t;
    result.valid[h.name] = make_predictions(h, data, split.valid, valid_logits.at(h.name), t);
    if (!split.test.empty()) result.test[h.name] = make_predictions(h, data, split.test, test_logits.at(h.name), t);
  }
  result.metrics = json{{"valid", head_metrics(result.valid)}, {"test", head_metrics(result.test)}};
  // The decision policy saved with the model, and what it costs on valid and test.
  if (cfg.min_excision_sensitivity > 0) {
    result.policy = management_policy(result.valid.at("MGMT"), cfg.min_excision_sensitivity);
    bundle.extra["policy"] = policy_to_json(result.policy);
  }
  for (const char* split_name : {"valid", "test"}) {
    const SplitPredictions& sp = std::string(split_name) == "valid" ? result.valid : result.test;
    auto it = sp.find("MGMT");
    if (it == sp.end() || !result.metrics[split_name].contains("MGMT")) continue;
    json op = management_operating_point(result.policy, it->second);
    if (!op.is_null()) result.metrics[split_name]["MGMT"]["decision_policy"] = op;
  }

  bundle.crop_border = crop;
  bundle.extra["temperature"] = temps;
  bundle.extra["metrics"] = result.metrics;
  bundle.extra["data"] = {{"source", data.source}, {"format", data.format}, {"cases", data.cases.size()},
                          {"train", split.train.size()}, {"valid", split.valid.size()}, {"test", split.test.size()}};
  bundle.extra["training"] = {{"mode", cfg.mode},
                              {"best_epoch", best_epoch},
                              {"epochs_run", result.epochs_run},
                              {"selection_metric", metric_name},
                              {"best_metric", std::isfinite(best_metric) ? json(best_metric) : json()},
                              {"weights", cfg.weights},
                              {"seed", cfg.seed}};
  save_model(join_path(run_dir, "model"), bundle);

  if (options.write_predictions) {
    for (const auto& [name, p] : result.valid)
      write_head_predictions(join_path(run_dir, name == "MGMT" ? "predictions_valid.csv"
                                                               : "predictions_" + name + "_valid.csv"),
                             p);
    for (const auto& [name, p] : result.test)
      write_head_predictions(join_path(run_dir, name == "MGMT" ? "predictions_test.csv"
                                                               : "predictions_" + name + "_test.csv"),
                             p);
    json mj = result.metrics;
    mj["best_epoch"] = best_epoch;
    mj["selection_metric"] = metric_name;
    mj["temperature"] = temps;
    write_file_atomic(join_path(run_dir, "metrics.json"), mj.dump(2) + "\n");
  }
  result.seconds = now_seconds() - t_start;
  progress_line(cfg.progress, "best epoch " + std::to_string(best_epoch) + " (" + metric_name + " " +
                                  fixed(best_metric, 4) + "), run written to " + run_dir + " in " +
                                  format_duration(result.seconds));
  return result;
}

SplitPredictions predict_dataset(const std::string& model_dir, const Dataset& data, const std::vector<int>& positions,
                                 int workers) {
  const std::string dir = resolve_model_dir(model_dir);
  if (positions.empty()) throw InputError(data.source + ": no cases to predict");
  ModelBundle bundle = load_model(dir);
  MultimodalNet net = bundle.net;
  net->eval();
  const auto& heads = bundle.options.heads;
  // Labels are read only where the dataset's head has the same classes as the model's.
  Dataset view = data;
  for (auto& c : view.cases) {
    std::map<std::string, int> keep;
    for (const auto& h : heads) {
      const HeadSpec* dh = data.head(h.name);
      auto it = c.labels.find(h.name);
      if (dh && it != c.labels.end() && dh->classes == h.classes) keep[h.name] = it->second;
    }
    c.labels = keep;
  }
  for (const auto& h : heads) {
    const HeadSpec* dh = data.head(h.name);
    if (dh && dh->classes != h.classes)
      throw InputError(data.source + ": head " + h.name + " has different classes in the data than in the model " + dir);
  }
  CaseTable table = case_table(view, heads, bundle.options);
  ImageSource source(net, view, table, bundle.preprocessing, AugmentConfig{}, bundle.crop_border, workers, 0, 16,
                     false);
  std::map<std::string, torch::Tensor> logits;
  {
    torch::NoGradGuard no_grad;
    logits = source.eval_logits(positions);
  }
  SplitPredictions out;
  for (const auto& h : heads) {
    double t = 1.0;
    if (bundle.extra.contains("temperature") && bundle.extra["temperature"].contains(h.name))
      t = bundle.extra["temperature"][h.name].get<double>();
    out[h.name] = make_predictions(h, view, positions, logits.at(h.name), t);
  }
  return out;
}

}  // namespace skintriage
