// `skintriage predict`: one case (or a manifest of cases) through a saved model.
// `skintriage agree`: the model's decisions against a panel of raters (eval/agreement.h).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/image.h"
#include "data/load.h"
#include "eval/agreement.h"
#include "eval/policy.h"
#include "serve/predictor.h"

namespace skintriage::cli {

namespace {

struct PredictArgs {
  std::string model, clinic, derm, sex, location, elevation, heatmaps_dir, policy, manifest, out;
  std::string explain_head, explain_class;
  bool json = false, allow_missing = false;
  int tta = 1, repeat = 1;
};

std::string safe_name(const std::string& s) {
  std::string o;
  for (char c : s) o += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return o.empty() ? "case" : o;
}

void write_heatmaps(const std::string& dir, const std::string& case_id, const Prediction& pred) {
  for (const auto& h : pred.heatmaps) {
    std::string base = join_path(dir, safe_name(case_id) + "_" + h.modality + "_" + h.head + "_" + h.cls);
    write_file_atomic(base + ".png", h.overlay_png);
    nlohmann::json j = {{"modality", h.modality}, {"head", h.head}, {"class", h.cls},
                        {"grid_width", h.grid_w}, {"grid_height", h.grid_h}, {"grid", h.grid},
                        {"crop", {{"x", h.crop_x}, {"y", h.crop_y}, {"side", h.crop_side}}}};
    write_file_atomic(base + ".json", j.dump() + "\n");
  }
}

void print_human(const nlohmann::json& j) {
  std::ostringstream o;
  if (j.contains("management")) {
    const auto& m = j["management"];
    o << "decision: " << m["decision"].get<std::string>() << "   (" << m["policy_description"].get<std::string>()
      << "; " << m["source"].get<std::string>() << ")\n";
    for (const auto& c : m["classes"])
      o << "  P(" << c.get<std::string>() << ") = " << fixed(m["probabilities"][c.get<std::string>()].get<double>(), 3)
        << "\n";
  }
  if (j.contains("diagnosis")) {
    const auto& d = j["diagnosis"];
    o << "diagnosis: " << d["argmax"].get<std::string>() << "\n";
    for (const auto& c : d["classes"])
      o << "  P(" << c.get<std::string>() << ") = " << fixed(d["probabilities"][c.get<std::string>()].get<double>(), 3)
        << "\n";
  }
  if (j.contains("criteria")) {
    o << "seven-point score: " << j["seven_point"]["argmax"].get<int>() << " (expected "
      << fixed(j["seven_point"]["expected"].get<double>(), 2) << ")\n";
    for (auto it = j["criteria"].begin(); it != j["criteria"].end(); ++it) {
      const auto& c = it.value();
      std::string a = c["argmax"].get<std::string>();
      o << "  " << it.key() << " (" << c["name"].get<std::string>() << "): " << a << "  p="
        << fixed(c["probabilities"][a].get<double>(), 3) << "  points=" << c["points"][a].get<int>() << "\n";
    }
  }
  if (j.contains("uncertainty")) {
    const auto& u = j["uncertainty"];
    o << "uncertainty: " << u["views"].get<int>() << " view(s), spread of P(decision) "
      << fixed(u["decision_probability_spread"].get<double>(), 3) << ", std "
      << fixed(u["decision_probability_std"].get<double>(), 3) << ", " << u["views_agreeing_with_decision"].get<int>()
      << " agreeing\n";
  }
  o << "inputs used: " << j["inputs"]["used"].dump() << "  missing: " << j["inputs"]["missing"].dump()
    << "  ignored: " << j["inputs"]["ignored"].dump() << "\n";
  o << "calibrated: " << (j["calibration"]["applied"].get<bool>() ? "yes" : "no") << "\n";
  for (const auto& w : j["warnings"]) o << "warning: " << w.get<std::string>() << "\n";
  o << "latency: " << fixed(j["latency_ms"].get<double>(), 1) << " ms\n";
  std::cout << o.str();
}

PredictOptions predict_options(const PredictArgs& a) {
  PredictOptions po;
  po.tta = a.tta;
  po.heatmaps = !a.heatmaps_dir.empty();
  po.explain.head = a.explain_head;
  po.explain.cls = a.explain_class;
  po.allow_missing = a.allow_missing;
  if (!a.policy.empty()) po.policy = policy_to_json(load_policy(a.policy));
  return po;
}

int run_predict(const PredictArgs& a) {
  Predictor predictor(a.model);
  PredictOptions po = predict_options(a);
  if (!a.heatmaps_dir.empty()) make_dirs(a.heatmaps_dir);

  if (!a.manifest.empty()) {
    if (!a.clinic.empty() || !a.derm.empty())
      throw InputError("--manifest: give the images in the manifest, not with --clinic/--derm");
    Dataset data = load_dataset(a.manifest);
    std::ostringstream lines;
    int failed = 0;
    for (const auto& c : data.cases) {
      nlohmann::json line;
      try {
        CaseInput in;
        in.id = c.id;
        if (!c.clinic_path.empty()) in.clinic = load_image_rgb(c.clinic_path);
        if (!c.derm_path.empty()) in.derm = load_image_rgb(c.derm_path);
        in.has_meta_vector = c.has_meta;
        in.meta_vector = c.meta;
        Prediction p = predictor.predict(in, po);
        line = p.json;
        if (!a.heatmaps_dir.empty()) write_heatmaps(a.heatmaps_dir, c.id, p);
      } catch (const InputError& e) {
        // One bad case does not stop the batch: its line carries the error.
        line = {{"case", c.id}, {"error", e.what()}};
        ++failed;
      }
      lines << line.dump() << "\n";
    }
    if (a.out.empty())
      std::cout << lines.str();
    else
      write_file_atomic(a.out, lines.str());
    std::cerr << "predict: " << data.cases.size() << " case(s), " << failed << " failed\n";
    return failed ? 2 : 0;
  }

  CaseInput in;
  in.id = "case";
  if (!a.clinic.empty()) in.clinic = load_image_rgb(a.clinic);
  if (!a.derm.empty()) in.derm = load_image_rgb(a.derm);
  in.sex = a.sex;
  in.location = a.location;
  in.elevation = a.elevation;
  Prediction p;
  std::vector<double> ms;
  for (int r = 0; r < std::max(1, a.repeat); ++r) {
    auto t0 = std::chrono::steady_clock::now();
    p = predictor.predict(in, po);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (a.repeat > 1) {
    // Warm latency: the first call pays one-off allocations, so it is reported apart.
    std::vector<double> warm(ms.begin() + 1, ms.end());
    std::sort(warm.begin(), warm.end());
    auto q = [&](double f) { return warm[std::min(warm.size() - 1, static_cast<size_t>(f * (warm.size() - 1) + 0.5))]; };
    p.json["timing"] = {{"first_ms", ms[0]}, {"warm_runs", warm.size()}, {"warm_median_ms", q(0.5)},
                        {"warm_p90_ms", q(0.9)}, {"warm_min_ms", warm.front()}};
    std::cerr << "latency: first " << fixed(ms[0], 1) << " ms, warm median " << fixed(q(0.5), 1) << " ms, p90 "
              << fixed(q(0.9), 1) << " ms over " << warm.size() << " runs\n";
  }
  if (!a.heatmaps_dir.empty()) write_heatmaps(a.heatmaps_dir, in.id, p);
  std::string text = a.json ? p.json.dump(2) + "\n" : "";
  if (!a.out.empty()) write_file_atomic(a.out, p.json.dump(2) + "\n");
  if (a.json)
    std::cout << text;
  else
    print_human(p.json);
  return 0;
}

struct AgreeArgs {
  std::string model, images, ratings, modality = "derm";
  double threshold = -1;
  bool json = false;
};

int run_agree(const AgreeArgs& a) {
  RatingsTable table = read_ratings_csv(a.ratings);
  Predictor predictor(a.model);
  const bool derm = a.modality == "derm";
  if ((derm && !predictor.uses_derm()) || (!derm && !predictor.uses_clinic()))
    throw InputError("agree: the model (inputs without " + a.modality + " images) cannot rate " + a.modality +
                     " images");
  PredictOptions po;
  po.allow_missing = true;  // a panel rates one image per case; the model sees only that modality
  std::vector<int> decisions;
  nlohmann::json per_image = nlohmann::json::array();
  for (size_t i = 0; i < table.images.size(); ++i) {
    std::string path = resolve_case_insensitive(a.images, table.images[i]);
    if (path.empty())
      throw InputError(a.ratings + ": row " + std::to_string(i + 1) + ": column 'image': no file '" +
                       table.images[i] + "' in " + a.images);
    CaseInput in;
    in.id = table.images[i];
    (derm ? in.derm : in.clinic) = load_image_rgb(path);
    Prediction p = predictor.predict(in, po);
    auto probs = p.json["management"]["probabilities"];
    if (!probs.contains("EXC")) throw InputError("agree: the model has no EXC management class");
    double pexc = probs["EXC"].get<double>();
    int d = a.threshold >= 0 ? (pexc >= a.threshold ? 1 : 0) : (p.decision == "EXC" ? 1 : 0);
    decisions.push_back(d);
    per_image.push_back({{"image", table.images[i]}, {"p_exc", pexc}, {"decision", p.decision}, {"model", d}});
  }
  nlohmann::json report = agreement_report(table, decisions);
  report["model_rule"] = a.threshold >= 0 ? "P(EXC) >= " + fixed(a.threshold, 3) + " -> 1"
                                          : "management decision EXC -> 1 (model policy)";
  report["modality"] = a.modality;
  report["per_image"] = per_image;
  if (a.json) {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  auto num = [](const nlohmann::json& v, int d = 3) { return v.is_number() ? fixed(v.get<double>(), d) : std::string("n/a"); };
  std::cout << "images: " << table.images.size() << ", raters: " << table.raters.size() << "\n";
  std::cout << "model rule: " << report["model_rule"].get<std::string>() << "\n";
  auto summary = [&](const char* what, const nlohmann::json& s) {
    std::cout << what << " kappa: mean " << num(s["mean"]) << ", median " << num(s["median"]) << ", IQR "
              << num(s["q1"]) << " to " << num(s["q3"]) << " (n " << s["n"] << ")\n";
  };
  summary("rater-rater", report["rater_pairs_kappa"]);
  const auto& model = report["model"];
  summary("model-rater", model["kappa_with_raters"]);
  std::cout << "model percentile among raters: " << num(model["percentile_among_raters"], 1) << "\n";
  if (model.contains("truth"))
    std::cout << "model vs truth: sensitivity " << num(model["truth"]["sensitivity"]) << ", specificity "
              << num(model["truth"]["specificity"]) << "\n";
  return 0;
}

}  // namespace

void register_predict(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  auto* p = app.add_subcommand("predict", "Predict the management of one case (or a manifest of cases)");
  p->add_option("--model", args->model, "Run folder or model folder (model.json + model.pth)")->required();
  p->add_option("--clinic", args->clinic, "Clinical photo");
  p->add_option("--derm", args->derm, "Dermoscopic image");
  p->add_option("--sex", args->sex, "female | male");
  p->add_option("--location", args->location, "abdomen, acral, back, buttocks, chest, genital areas, head neck, ...");
  p->add_option("--elevation", args->elevation, "flat | nodular | palpable");
  p->add_flag("--json", args->json, "Print the full prediction as JSON");
  p->add_option("--heatmaps", args->heatmaps_dir, "Write Grad-CAM overlays (PNG) and grids (JSON) to this folder");
  p->add_option("--explain-head", args->explain_head, "Head the heatmaps explain (default: the management decision)");
  p->add_option("--explain-class", args->explain_class, "Class the heatmaps explain (default: decided/argmax class)");
  p->add_option("--tta", args->tta, "Test-time augmentation views (1-8: flips and 90-degree rotations)")
      ->check(CLI::Range(1, 8));
  p->add_option("--policy", args->policy, "Decision policy JSON (overrides the model's), see eval/policy.h");
  p->add_option("--manifest", args->manifest, "Batch mode: a CSV manifest; one JSON line per case");
  p->add_option("--out", args->out, "Also write the output to this file (atomically)");
  p->add_flag("--allow-missing", args->allow_missing,
              "Predict with a missing input even when the model was not trained with modality dropout");
  p->add_option("--repeat", args->repeat, "Run the prediction N times and report warm latency")
      ->check(CLI::Range(1, 10000));
  p->callback([args] {
    int rc = run_predict(*args);
    if (rc) throw CLI::RuntimeError(rc);
  });

  auto aargs = std::make_shared<AgreeArgs>();
  auto* a = app.add_subcommand("agree", "Agreement of the model's decisions with a panel of raters");
  a->add_option("--model", aargs->model, "Run folder or model folder")->required();
  a->add_option("--images", aargs->images, "Folder of the rated images")->required();
  a->add_option("--ratings", aargs->ratings, "CSV: image, optional truth, one 0/1 column per rater")->required();
  a->add_option("--threshold", aargs->threshold, "Model says 1 when P(EXC) >= T (default: decision EXC)")
      ->check(CLI::Range(0.0, 1.0));
  a->add_option("--modality", aargs->modality, "Which input the rated images are: derm (default) or clinic")
      ->check(CLI::IsMember({"derm", "clinic"}));
  a->add_flag("--json", aargs->json, "Print the report as JSON");
  a->callback([aargs] { run_agree(*aargs); });
}

}  // namespace skintriage::cli
