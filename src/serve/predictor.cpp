#include "serve/predictor.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/derm7pt_vocab.h"
#include "data/image.h"
#include "eval/calibration.h"
#include "eval/policy.h"
#include "model/checkpoint.h"
#include "serve/gradcam.h"
#include "train/management_priors.h"

namespace skintriage {

namespace {

constexpr int kMaxViews = 8;
const char* const kViewNames[kMaxViews] = {"identity", "hflip",    "vflip",     "rot90",
                                           "rot180",   "rot270",   "transpose", "antitranspose"};

// The dihedral view `v` of a batch of images [N,3,S,S] (square, so every view keeps the shape).
torch::Tensor dihedral_view(const torch::Tensor& x, int v) {
  switch (v) {
    case 0: return x;
    case 1: return x.flip({3});
    case 2: return x.flip({2});
    case 3: return torch::rot90(x, 1, {2, 3});
    case 4: return torch::rot90(x, 2, {2, 3});
    case 5: return torch::rot90(x, 3, {2, 3});
    case 6: return x.transpose(2, 3);
    default: return torch::rot90(x, 2, {2, 3}).transpose(2, 3);
  }
}

// The square the preprocessing crops (image_to_tensor: centred square of side min(w,h)).
cv::Rect centre_square(const cv::Mat& img) {
  int side = std::min(img.cols, img.rows);
  return cv::Rect((img.cols - side) / 2, (img.rows - side) / 2, side, side);
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::string human_criterion(const std::string& head) {
  for (const auto& cv : criteria_vocabs())
    if (cv.head == head) {
      std::string s = cv.column;
      std::replace(s.begin(), s.end(), '_', ' ');
      return s;
    }
  return head;
}

bool is_criterion(const std::string& head) {
  for (const auto& cv : criteria_vocabs())
    if (cv.head == head) return true;
  return false;
}

// A run folder holds its model in model/; a model folder holds model.json itself.
std::string model_folder(const std::string& path) {
  if (file_exists(join_path(path, "model.json"))) return path;
  std::string inner = join_path(path, "model");
  if (file_exists(join_path(inner, "model.json"))) return inner;
  throw InputError(path + ": not a model folder (no model.json here or in model/)");
}

// The policy's class must be a management class.
void check_policy(const DecisionPolicy& p, const std::vector<std::string>& classes, const std::string& where) {
  if (p.kind == "threshold" && std::find(classes.begin(), classes.end(), p.excision_class) == classes.end())
    throw InputError(where + ": class '" + p.excision_class + "' is not a management class");
}

}  // namespace

int seven_point_points(const std::string& head, const std::string& cls) {
  const auto& vocabs = criteria_vocabs();
  for (size_t i = 0; i < vocabs.size(); ++i) {
    if (vocabs[i].head != head) continue;
    // Score a case whose every criterion is "absent" except this one, set to a raw value of the
    // class: the points of the class, by the one implementation of the checklist.
    for (const auto& e : vocabs[i].entries) {
      if (e.cls != cls) continue;
      RawCriteria rc{"absent", "absent", "absent", "absent", "absent", "absent", "absent"};
      std::string* fields[] = {&rc.pigment_network,       &rc.streaks,           &rc.pigmentation,
                               &rc.regression_structures, &rc.dots_and_globules, &rc.blue_whitish_veil,
                               &rc.vascular_structures};
      *fields[i] = e.raw;
      int s = seven_point_score(rc);
      return s < 0 ? 0 : s;
    }
  }
  return 0;
}

struct Predictor::Impl {
  std::string dir;
  ModelBundle model;
  std::vector<HeadSpec> heads;
  std::map<std::string, double> temperature;  // head -> T (absent = 1)
  DecisionPolicy policy;                      // the model's own
  bool has_priors = false;
  ManagementPriors priors;
  std::string mgmt_head;  // head whose classes are the management classes ("MGMT") or "" for priors
  HeadSpec mgmt_spec;     // management classes
  nlohmann::json run_metrics;

  torch::Tensor preprocess(const cv::Mat& rgb) const {
    cv::Mat cropped = crop_border(rgb, model.crop_border);
    return image_to_tensor(cropped, model.preprocessing);
  }

  double temp(const std::string& head) const {
    auto it = temperature.find(head);
    return it == temperature.end() ? 1.0 : it->second;
  }
};

Predictor::Predictor(const std::string& model_dir) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.dir = model_folder(model_dir);
  m.model = load_model(m.dir);
  m.model.net->eval();
  // Nothing may accumulate into shared parameter gradients (Grad-CAM differentiates w.r.t. the
  // feature map only): this is what makes concurrent predict() calls safe.
  for (auto& p : m.model.net->parameters()) p.set_requires_grad(false);
  m.heads = m.model.options.heads;
  const std::string where = join_path(m.dir, "model.json");
  const auto& extra = m.model.extra;
  if (extra.contains("temperature") && extra["temperature"].is_object()) {
    for (auto it = extra["temperature"].begin(); it != extra["temperature"].end(); ++it) {
      if (!it.value().is_number() || !(it.value().get<double>() > 0.0))
        throw InputError(where + ": temperature of head '" + it.key() + "' must be a positive number");
      m.temperature[it.key()] = it.value().get<double>();
    }
  }
  for (const auto& h : m.heads)
    if (h.name == kHeadMgmt) {
      m.mgmt_head = h.name;
      m.mgmt_spec = h;
    }
  if (extra.contains("priors") && !extra["priors"].is_null()) {
    m.priors = ManagementPriors::from_json(extra["priors"], where + ": priors");
    m.has_priors = true;
    // Rows in the DIAG head's class order, whatever order the file lists them in.
    for (const auto& h : m.heads) {
      if (h.name != kHeadDiag) continue;
      std::vector<std::vector<double>> rows;
      for (const auto& c : h.classes) {
        auto it = std::find(m.priors.diag_classes.begin(), m.priors.diag_classes.end(), c);
        if (it == m.priors.diag_classes.end())
          throw InputError(where + ": priors: no row for diagnosis class '" + c + "'");
        rows.push_back(m.priors.p[static_cast<size_t>(it - m.priors.diag_classes.begin())]);
      }
      m.priors.p = rows;
      m.priors.diag_classes = h.classes;
      m.priors.counts.clear();
    }
  }
  if (m.mgmt_head.empty()) {
    bool has_diag = false;
    for (const auto& h : m.heads) has_diag |= h.name == kHeadDiag;
    if (has_diag && m.has_priors) {
      m.mgmt_spec.name = kHeadMgmt;
      m.mgmt_spec.classes = m.priors.mgmt_classes;
    }
  }
  if (!m.mgmt_spec.classes.empty()) {
    if (extra.contains("policy") && !extra["policy"].is_null())
      m.policy = policy_from_json(extra["policy"], where + ": policy");
    check_policy(m.policy, m.mgmt_spec.classes, where + ": policy");
  }
  if (extra.contains("metrics")) m.run_metrics = extra["metrics"];
  // A model inside a run folder: the run's metrics.json is the fuller record.
  std::string run_metrics = join_path(join_path(m.dir, ".."), "metrics.json");
  if (m.run_metrics.is_null() && file_exists(run_metrics)) {
    try {
      m.run_metrics = nlohmann::json::parse(read_text_file(run_metrics));
    } catch (const nlohmann::json::exception&) {
      // A damaged metrics file only loses the card's metrics, never the model.
    }
  }
}

Predictor::~Predictor() = default;

const std::vector<HeadSpec>& Predictor::heads() const { return impl_->heads; }
bool Predictor::uses_clinic() const { return impl_->model.options.uses_clinic(); }
bool Predictor::uses_derm() const { return impl_->model.options.uses_derm(); }
bool Predictor::uses_meta() const { return impl_->model.options.uses_meta(); }
bool Predictor::supports_missing() const { return impl_->model.options.modality_dropout > 0.0; }

Prediction Predictor::predict(const CaseInput& in, const PredictOptions& opts) const {
  const auto& m = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  auto net = m.model.net;
  const auto& o = m.model.options;
  if (opts.tta < 1 || opts.tta > kMaxViews)
    throw InputError("tta: number of views must be between 1 and " + std::to_string(kMaxViews) + ", got " +
                     std::to_string(opts.tta));

  // ---- inputs: which are given, which the model uses
  const bool give_c = !in.clinic.empty(), give_d = !in.derm.empty();
  std::array<float, kMetaDims> meta{};
  bool give_m = false;
  std::vector<std::string> warnings;
  if (in.has_meta_vector) {
    meta = in.meta_vector;
    give_m = std::any_of(meta.begin(), meta.end(), [](float v) { return v != 0.0f; });
  } else {
    meta = meta_one_hot(in.sex, in.location, in.elevation);  // InputError names a bad field/value
    give_m = !in.sex.empty() || !in.location.empty() || !in.elevation.empty();
    if (give_m && (in.sex.empty() || in.location.empty() || in.elevation.empty()))
      warnings.push_back("metadata is partial: the unknown fields are left all-zero in the one-hot");
  }
  const bool use_c = o.uses_clinic() && give_c, use_d = o.uses_derm() && give_d, use_m = o.uses_meta() && give_m;
  nlohmann::json used = nlohmann::json::array(), missing = nlohmann::json::array(),
                 ignored = nlohmann::json::array();
  auto note = [&](bool model_uses, bool given, const char* name) {
    if (model_uses && given) used.push_back(name);
    if (model_uses && !given) missing.push_back(name);
    if (!model_uses && given) ignored.push_back(name);
  };
  note(o.uses_clinic(), give_c, "clinic");
  note(o.uses_derm(), give_d, "derm");
  note(o.uses_meta(), give_m, "meta");
  if (!use_c && !use_d) {
    std::string need = o.uses_clinic() && o.uses_derm() ? "a clinic and/or a derm image"
                       : o.uses_clinic()               ? "a clinic image"
                                                       : "a derm image";
    throw InputError("no usable image: this model (inputs " + o.inputs + ") needs " + need);
  }
  if (!missing.empty() && !supports_missing() && !opts.allow_missing) {
    throw InputError("missing input(s) " + missing.dump() + ": this model (inputs " + o.inputs +
                     ") was trained without modality dropout, so it was not trained to predict without them "
                     "(allow it explicitly to predict anyway)");
  }
  if (!missing.empty() && !supports_missing())
    warnings.push_back("the model was not trained with missing inputs; this prediction is outside its training");

  // ---- preprocessing and views
  const int V = opts.tta;
  torch::Tensor xc, xd;
  if (use_c) xc = m.preprocess(in.clinic).unsqueeze(0);
  if (use_d) xd = m.preprocess(in.derm).unsqueeze(0);
  auto views = [&](const torch::Tensor& x) {
    std::vector<torch::Tensor> vs;
    for (int v = 0; v < V; ++v) vs.push_back(dihedral_view(x, v));
    return torch::cat(vs, 0);
  };
  auto ones = [&](bool on, int64_t n) { return torch::full({n}, on ? 1.0f : 0.0f); };
  auto meta_tensor = [&](int64_t n) {
    return torch::from_blob(meta.data(), {1, kMetaDims}, torch::kFloat).clone().expand({n, kMetaDims}).contiguous();
  };
  const int64_t F = net->embedding_dim();
  auto make_batch = [&](int64_t n, const torch::Tensor& ec, const torch::Tensor& ed) {
    EmbeddingBatch b;
    if (o.uses_clinic()) b.clinic = use_c ? ec : torch::zeros({n, F});
    if (o.uses_derm()) b.derm = use_d ? ed : torch::zeros({n, F});
    b.meta = use_m ? meta_tensor(n) : torch::zeros({n, kMetaDims});
    b.clinic_present = ones(use_c, n);
    b.derm_present = ones(use_d, n);
    b.meta_present = ones(use_m, n);
    return b;
  };

  std::map<std::string, torch::Tensor> probs_views;  // head -> [V,K] calibrated probabilities
  {
    torch::NoGradGuard no_grad;
    torch::Tensor ec, ed;
    if (use_c) ec = net->backbone("clinic")->features(views(xc)).mean({2, 3});
    if (use_d) ed = net->backbone("derm")->features(views(xd)).mean({2, 3});
    auto logits = net->forward_embeddings(make_batch(V, ec, ed));
    for (auto& kv : logits) {
      // Calibration through eval/calibration.h, the one implementation of temperature scaling.
      auto lg = kv.second.to(torch::kDouble).contiguous();
      std::vector<std::vector<double>> rows;
      for (int64_t v = 0; v < lg.size(0); ++v) rows.push_back(to_vector(lg[v]));
      auto p = apply_temperature(rows, m.temp(kv.first));
      auto t = torch::zeros({lg.size(0), lg.size(1)}, torch::kDouble);
      for (size_t v = 0; v < p.size(); ++v)
        for (size_t k = 0; k < p[v].size(); ++k) t[static_cast<int64_t>(v)][static_cast<int64_t>(k)] = p[v][k];
      probs_views[kv.first] = t;
    }
  }

  // ---- per-head summaries
  Prediction pred;
  nlohmann::json& j = pred.json;
  if (!in.id.empty()) j["case"] = in.id;
  nlohmann::json heads_json = nlohmann::json::object();
  auto head_summary = [&](const HeadSpec& spec, const torch::Tensor& pv) {
    auto mean = pv.mean(0);
    auto std = V > 1 ? pv.std(0, /*unbiased=*/false) : torch::zeros_like(mean);
    std::vector<double> p = to_vector(mean), s = to_vector(std);
    nlohmann::json h;
    h["classes"] = spec.classes;
    nlohmann::json pj = nlohmann::json::object(), sj = nlohmann::json::object();
    for (size_t k = 0; k < spec.classes.size(); ++k) {
      pj[spec.classes[k]] = p[k];
      sj[spec.classes[k]] = s[k];
    }
    h["probabilities"] = pj;
    h["std_over_views"] = sj;
    h["argmax"] = spec.classes[static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin())];
    h["temperature"] = m.temp(spec.name);
    pred.probabilities[spec.name] = p;
    return h;
  };
  for (const auto& spec : m.heads) {
    auto it = probs_views.find(spec.name);
    if (it == probs_views.end()) throw std::runtime_error("model produced no output for head " + spec.name);
    heads_json[spec.name] = head_summary(spec, it->second);
  }
  j["heads"] = heads_json;

  // ---- management: its own head, or inferred from diagnosis through the priors (MGMT_infr)
  DecisionPolicy policy = m.policy;
  if (!opts.policy.is_null() && !m.mgmt_spec.classes.empty())
  {
    policy = policy_from_json(opts.policy, "policy");
    check_policy(policy, m.mgmt_spec.classes, "policy");
  }
  if (!m.mgmt_spec.classes.empty()) {
    torch::Tensor mv;  // [V,K]
    std::string source;
    if (!m.mgmt_head.empty()) {
      mv = probs_views.at(m.mgmt_head);
      source = "MGMT head";
    } else {
      std::vector<std::vector<double>> dv;
      auto d = probs_views.at(kHeadDiag).to(torch::kDouble).contiguous();
      for (int v = 0; v < V; ++v) dv.push_back(to_vector(d[v]));
      auto inferred = infer_management(dv, m.priors);
      mv = torch::zeros({V, static_cast<int64_t>(m.mgmt_spec.classes.size())}, torch::kDouble);
      for (int v = 0; v < V; ++v)
        for (size_t k = 0; k < inferred[v].size(); ++k) mv[v][static_cast<int64_t>(k)] = inferred[v][k];
      source = "DIAG head x management priors (MGMT_infr)";
      pred.probabilities[kHeadMgmt] = to_vector(mv.mean(0));
    }
    std::vector<double> p = to_vector(mv.mean(0));
    int decision = decide(policy, p, m.mgmt_spec.classes);
    pred.decision = m.mgmt_spec.classes[static_cast<size_t>(decision)];
    // Uncertainty over the views: spread of the decided class's probability, per-class std and how
    // many views, each decided on its own, agree with the final decision.
    std::vector<double> pd;
    int agree = 0;
    for (int v = 0; v < V; ++v) {
      auto pv = to_vector(mv[v]);
      pd.push_back(pv[static_cast<size_t>(decision)]);
      agree += decide(policy, pv, m.mgmt_spec.classes) == decision;
    }
    nlohmann::json mj;
    mj["classes"] = m.mgmt_spec.classes;
    nlohmann::json pj = nlohmann::json::object();
    for (size_t k = 0; k < p.size(); ++k) pj[m.mgmt_spec.classes[k]] = p[k];
    mj["probabilities"] = pj;
    mj["decision"] = pred.decision;
    mj["source"] = source;
    mj["policy"] = policy_to_json(policy);
    mj["policy_description"] = describe_policy(policy);
    j["management"] = mj;
    nlohmann::json u;
    u["views"] = V;
    u["view_names"] = std::vector<std::string>(kViewNames, kViewNames + V);
    u["decision_probability_min"] = *std::min_element(pd.begin(), pd.end());
    u["decision_probability_max"] = *std::max_element(pd.begin(), pd.end());
    u["decision_probability_spread"] = u["decision_probability_max"].get<double>() - u["decision_probability_min"].get<double>();
    u["decision_probability_std"] = V > 1 ? to_vector(torch::tensor(pd).std(/*unbiased=*/false))[0] : 0.0;
    u["views_agreeing_with_decision"] = agree;
    u["note"] = V > 1 ? "spread of P(decision) over the test-time views; 0 = stable under flips/rotations"
                      : "one view: run with tta > 1 for an uncertainty figure";
    j["uncertainty"] = u;
  }

  // ---- diagnosis and the seven criteria
  for (const auto& spec : m.heads)
    if (spec.name == kHeadDiag) j["diagnosis"] = heads_json[spec.name];
  nlohmann::json crit = nlohmann::json::object();
  double expected = 0.0;
  int argmax_score = 0, n_crit = 0;
  for (const auto& spec : m.heads) {
    if (!is_criterion(spec.name)) continue;
    auto c = heads_json[spec.name];
    c["name"] = human_criterion(spec.name);
    const auto& p = pred.probabilities[spec.name];
    nlohmann::json pts = nlohmann::json::object();
    double e = 0.0;
    for (size_t k = 0; k < spec.classes.size(); ++k) {
      int pt = seven_point_points(spec.name, spec.classes[k]);
      pts[spec.classes[k]] = pt;
      e += pt * p[k];
    }
    c["points"] = pts;
    c["expected_points"] = e;
    expected += e;
    argmax_score += seven_point_points(spec.name, c["argmax"].get<std::string>());
    ++n_crit;
    crit[spec.name] = c;
  }
  if (n_crit > 0) {
    j["criteria"] = crit;
    nlohmann::json sp;
    sp["expected"] = expected;
    sp["argmax"] = argmax_score;
    sp["criteria_predicted"] = n_crit;
    sp["complete"] = n_crit == 7;
    sp["suspicious"] = argmax_score >= 3;
    sp["method"] =
        "argmax: sum of the checklist points of each criterion's most probable class; expected: sum over criteria "
        "and classes of points x probability. 3 or more is the checklist's threshold for a suspicious lesion.";
    j["seven_point"] = sp;
  }

  j["inputs"] = {{"used", used}, {"missing", missing}, {"ignored", ignored},
                 {"model_inputs", o.inputs}, {"supports_missing", supports_missing()}};
  if (use_m && !in.has_meta_vector)
    j["inputs"]["meta"] = {{"sex", in.sex}, {"location", in.location}, {"elevation", in.elevation}};
  nlohmann::json temps = nlohmann::json::object();
  for (const auto& kv : m.temperature) temps[kv.first] = kv.second;
  j["calibration"] = {{"applied", !m.temperature.empty()}, {"temperature", temps}};
  j["warnings"] = warnings;

  // ---- Grad-CAM on each input image
  if (opts.heatmaps) {
    std::string head = opts.explain.head, cls = opts.explain.cls;
    const bool explain_mgmt = head.empty() || head == kHeadMgmt;
    const HeadSpec* spec = nullptr;
    if (explain_mgmt) {
      if (m.mgmt_spec.classes.empty()) throw InputError("heatmaps: this model has no management output");
      spec = &m.mgmt_spec;
      head = kHeadMgmt;
      if (cls.empty()) cls = pred.decision;
    } else {
      for (const auto& h : m.heads)
        if (h.name == head) spec = &h;
      if (!spec) throw InputError("heatmaps: the model has no head '" + head + "'");
      if (cls.empty()) cls = heads_json[head]["argmax"].get<std::string>();
    }
    int k = spec->index_of(cls);
    if (k < 0) throw InputError("heatmaps: head " + head + " has no class '" + cls + "'");

    torch::AutoGradMode grad_on(true);
    torch::Tensor fc, fd, ec, ed;
    if (use_c) {
      fc = net->backbone("clinic")->features(xc).detach().requires_grad_(true);
      ec = fc.mean({2, 3});
    }
    if (use_d) {
      fd = net->backbone("derm")->features(xd).detach().requires_grad_(true);
      ed = fd.mean({2, 3});
    }
    auto logits = net->forward_embeddings(make_batch(1, ec, ed));
    torch::Tensor score;
    if (explain_mgmt && m.mgmt_head.empty()) {
      // MGMT_infr: explain log P(m|x) = log sum_d P(d|x) P(m|d).
      auto pdiag = torch::softmax(logits.at(kHeadDiag) / m.temp(kHeadDiag), 1)[0];
      std::vector<float> col;
      for (const auto& row : m.priors.p) col.push_back(static_cast<float>(row[static_cast<size_t>(k)]));
      score = torch::log((pdiag * torch::tensor(col)).sum() + 1e-12);
    } else {
      score = logits.at(head)[0][k];
    }
    auto one = [&](const char* modality, const torch::Tensor& fmap, const cv::Mat& rgb) {
      Heatmap h;
      h.modality = modality;
      h.head = head;
      h.cls = cls;
      auto cam = grad_cam(fmap, score);
      h.grid_h = static_cast<int>(cam.size(0));
      h.grid_w = static_cast<int>(cam.size(1));
      h.grid.assign(cam.data_ptr<float>(), cam.data_ptr<float>() + cam.numel());
      cv::Mat cropped = crop_border(rgb, m.model.crop_border);
      cv::Rect sq = centre_square(cropped);
      int bx = (rgb.cols - cropped.cols) / 2, by = (rgb.rows - cropped.rows) / 2;
      h.crop_x = sq.x + bx;
      h.crop_y = sq.y + by;
      h.crop_side = sq.width;
      cv::Mat view;
      int side = static_cast<int>(m.model.preprocessing.input_size);
      cv::resize(cropped(sq), view, cv::Size(side, side), 0, 0, cv::INTER_AREA);
      cv::Mat grid(h.grid_h, h.grid_w, CV_32F, h.grid.data());
      h.overlay_png = encode_png_rgb(overlay_heatmap(view, grid.clone()));
      pred.heatmaps.push_back(std::move(h));
    };
    if (use_c) one("clinic", fc, in.clinic);
    if (use_d) one("derm", fd, in.derm);
    nlohmann::json hj = nlohmann::json::array();
    for (const auto& h : pred.heatmaps)
      hj.push_back({{"modality", h.modality}, {"head", h.head}, {"class", h.cls}, {"grid_width", h.grid_w},
                    {"grid_height", h.grid_h}, {"grid", h.grid},
                    {"crop", {{"x", h.crop_x}, {"y", h.crop_y}, {"side", h.crop_side}}}});
    j["heatmaps"] = hj;
  }
  j["latency_ms"] =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return pred;
}

nlohmann::json Predictor::model_card() const {
  const auto& m = *impl_;
  nlohmann::json c;
  c["architecture"] = m.model.options.arch;
  c["options"] = m.model.options.to_json();
  c["inputs"] = {{"set", m.model.options.inputs},
                 {"clinic", uses_clinic()},
                 {"derm", uses_derm()},
                 {"meta", uses_meta()},
                 {"supports_missing", supports_missing()}};
  nlohmann::json heads = nlohmann::json::array();
  for (const auto& h : m.heads) {
    nlohmann::json hj = {{"name", h.name}, {"classes", h.classes}};
    if (is_criterion(h.name)) {
      hj["criterion"] = human_criterion(h.name);
      nlohmann::json pts = nlohmann::json::object();
      for (const auto& c : h.classes) pts[c] = seven_point_points(h.name, c);
      hj["seven_point_points"] = pts;
    }
    heads.push_back(hj);
  }
  c["heads"] = heads;
  c["vocabularies"] = {{"sex", sex_values()}, {"location", location_values()}, {"elevation", elevation_values()}};
  c["preprocessing"] = m.model.preprocessing.to_json();
  c["crop_border"] = m.model.crop_border;
  nlohmann::json temps = nlohmann::json::object();
  for (const auto& kv : m.temperature) temps[kv.first] = kv.second;
  c["calibration"] = {{"temperature", temps}};
  if (!m.mgmt_spec.classes.empty()) {
    c["management"] = {{"classes", m.mgmt_spec.classes},
                       {"source", m.mgmt_head.empty() ? "DIAG x priors" : "MGMT head"},
                       {"policy", policy_to_json(m.policy)},
                       {"policy_description", describe_policy(m.policy)}};
  }
  if (m.has_priors) c["priors"] = m.priors.to_json();
  c["metrics"] = m.run_metrics;
  return c;
}

}  // namespace skintriage
