#include "eval/agreement.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "eval/metrics.h"
#include "eval/statistics.h"

namespace skintriage {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

int parse_binary(const std::string& field, const std::string& path, long line, const std::string& column) {
  std::string t = trim(field);
  if (t == "0") return 0;
  if (t == "1") return 1;
  throw InputError(located(path, line, column, "expected 0 or 1, found '" + t + "'"));
}

double mean_finite(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) {
      s += x;
      ++n;
    }
  return n ? s / n : kNaN;
}

SensSpec sens_spec(const std::vector<int>& truth, const std::vector<int>& decision) {
  long tp = 0, fn = 0, tn = 0, fp = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] == 1) (decision[i] == 1 ? tp : fn)++;
    else (decision[i] == 1 ? fp : tn)++;
  }
  SensSpec s;
  s.sensitivity = tp + fn ? static_cast<double>(tp) / static_cast<double>(tp + fn) : kNaN;
  s.specificity = tn + fp ? static_cast<double>(tn) / static_cast<double>(tn + fp) : kNaN;
  return s;
}

nlohmann::json to_json(const SensSpec& s) {
  return {{"sensitivity", num(s.sensitivity)}, {"specificity", num(s.specificity)}};
}

}  // namespace

RatingsTable parse_ratings_csv(const std::string& text, const std::string& path) {
  CsvTable t = parse_csv(text, path);
  RatingsTable r;
  r.source = path;
  int image_col = t.column("image");
  if (image_col < 0) throw InputError(located(path, 1, "", "missing column 'image'"));
  int truth_col = t.column("truth");
  std::vector<int> rater_cols;
  for (size_t c = 0; c < t.header.size(); ++c) {
    if (static_cast<int>(c) == image_col || static_cast<int>(c) == truth_col) continue;
    if (t.header[c].empty()) throw InputError(located(path, 1, "", "column " + std::to_string(c + 1) + " has no name"));
    r.raters.push_back(t.header[c]);
    rater_cols.push_back(static_cast<int>(c));
  }
  if (r.raters.size() < 2)
    throw InputError(located(path, 1, "",
                             "need at least 2 rater columns (besides 'image' and 'truth'), found " +
                                 std::to_string(r.raters.size())));
  if (t.rows.empty()) throw InputError(located(path, 0, "", "no rating rows"));
  std::map<std::string, long> seen;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const long line = t.rows[i].line;
    std::string image = trim(t.at(i, image_col));
    if (image.empty()) throw InputError(located(path, line, "image", "empty image name"));
    auto it = seen.find(image);
    if (it != seen.end())
      throw InputError(located(path, line, "image",
                               "duplicate image '" + image + "' (first on line " + std::to_string(it->second) + ")"));
    seen[image] = line;
    r.images.push_back(image);
    std::vector<int> row;
    for (size_t k = 0; k < rater_cols.size(); ++k)
      row.push_back(parse_binary(t.at(i, rater_cols[k]), path, line, r.raters[k]));
    r.ratings.push_back(std::move(row));
    if (truth_col >= 0) r.truth.push_back(parse_binary(t.at(i, truth_col), path, line, "truth"));
  }
  return r;
}

RatingsTable read_ratings_csv(const std::string& path) { return parse_ratings_csv(read_text_file(path), path); }

Summary summarize(const std::vector<double>& values) {
  std::vector<double> v;
  for (double x : values)
    if (std::isfinite(x)) v.push_back(x);
  Summary s;
  if (v.empty()) {
    s.mean = s.median = s.q1 = s.q3 = s.min = s.max = kNaN;
    return s;
  }
  std::sort(v.begin(), v.end());
  s.n = static_cast<long>(v.size());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  s.median = percentile_sorted(v, 0.5);
  s.q1 = percentile_sorted(v, 0.25);
  s.q3 = percentile_sorted(v, 0.75);
  s.min = v.front();
  s.max = v.back();
  return s;
}

nlohmann::json to_json(const Summary& s) {
  return {{"n", s.n},           {"mean", num(s.mean)}, {"median", num(s.median)}, {"q1", num(s.q1)},
          {"q3", num(s.q3)},    {"iqr", num(s.q3 - s.q1)}, {"min", num(s.min)},   {"max", num(s.max)}};
}

AgreementResult compute_agreement(const RatingsTable& table, const std::vector<int>& model_decisions) {
  const size_t n = table.images.size(), r = table.raters.size();
  if (n == 0) throw InputError("agreement: no images");
  if (r < 2) throw InputError("agreement: need at least 2 raters");
  if (table.ratings.size() != n) throw InputError("agreement: ratings and images differ in length");
  if (!table.truth.empty() && table.truth.size() != n) throw InputError("agreement: truth and images differ in length");
  if (!model_decisions.empty() && model_decisions.size() != n)
    throw InputError("agreement: " + std::to_string(model_decisions.size()) + " model decisions for " +
                     std::to_string(n) + " images");
  for (size_t i = 0; i < model_decisions.size(); ++i)
    if (model_decisions[i] != 0 && model_decisions[i] != 1)
      throw InputError("agreement: model decision for image '" + table.images[i] + "' is not 0/1");

  std::vector<std::vector<int>> cols(r, std::vector<int>(n));
  for (size_t i = 0; i < n; ++i) {
    if (table.ratings[i].size() != r) throw InputError("agreement: image '" + table.images[i] + "': wrong rating count");
    for (size_t k = 0; k < r; ++k) {
      int v = table.ratings[i][k];
      if (v != 0 && v != 1) throw InputError("agreement: image '" + table.images[i] + "': rating is not 0/1");
      cols[k][i] = v;
    }
  }

  AgreementResult res;
  res.raters = table.raters;
  res.rater_kappa.assign(r, std::vector<double>(r, 1.0));
  std::vector<double> pairs;
  for (size_t a = 0; a < r; ++a)
    for (size_t b = a + 1; b < r; ++b) {
      double k = cohen_kappa(cols[a], cols[b], 2);
      res.rater_kappa[a][b] = res.rater_kappa[b][a] = k;
      pairs.push_back(k);
    }
  res.rater_pairs = summarize(pairs);
  for (size_t a = 0; a < r; ++a) {
    std::vector<double> others;
    for (size_t b = 0; b < r; ++b)
      if (b != a) others.push_back(res.rater_kappa[a][b]);
    res.rater_mean_kappa.push_back(mean_finite(others));
  }

  if (!model_decisions.empty()) {
    res.has_model = true;
    for (size_t k = 0; k < r; ++k) res.model_kappa.push_back(cohen_kappa(model_decisions, cols[k], 2));
    res.model_vs_raters = summarize(res.model_kappa);
    res.model_mean_kappa = mean_finite(res.model_kappa);
    double below = 0;
    for (double m : res.rater_mean_kappa) {
      if (!std::isfinite(m) || !std::isfinite(res.model_mean_kappa)) continue;
      if (m < res.model_mean_kappa) below += 1;
      else if (m == res.model_mean_kappa) below += 0.5;
    }
    res.model_percentile = std::isfinite(res.model_mean_kappa) ? 100.0 * below / static_cast<double>(r) : kNaN;
  }

  if (!table.truth.empty()) {
    res.has_truth = true;
    std::vector<double> sens, spec;
    for (size_t k = 0; k < r; ++k) {
      res.rater_truth.push_back(sens_spec(table.truth, cols[k]));
      sens.push_back(res.rater_truth.back().sensitivity);
      spec.push_back(res.rater_truth.back().specificity);
    }
    res.rater_sensitivity = summarize(sens);
    res.rater_specificity = summarize(spec);
    if (res.has_model) res.model_truth = sens_spec(table.truth, model_decisions);
  }
  return res;
}

nlohmann::json to_json(const AgreementResult& r) {
  nlohmann::json j;
  j["raters"] = r.raters;
  nlohmann::json matrix = nlohmann::json::array();
  for (const auto& row : r.rater_kappa) {
    nlohmann::json jr = nlohmann::json::array();
    for (double v : row) jr.push_back(num(v));
    matrix.push_back(jr);
  }
  j["rater_kappa"] = matrix;
  j["rater_pairs_kappa"] = to_json(r.rater_pairs);
  nlohmann::json per_rater = nlohmann::json::object();
  for (size_t k = 0; k < r.raters.size(); ++k) {
    nlohmann::json e = {{"mean_kappa_with_raters", num(r.rater_mean_kappa[k])}};
    if (r.has_model) e["kappa_with_model"] = num(r.model_kappa[k]);
    if (r.has_truth) {
      e["sensitivity"] = num(r.rater_truth[k].sensitivity);
      e["specificity"] = num(r.rater_truth[k].specificity);
    }
    per_rater[r.raters[k]] = e;
  }
  j["per_rater"] = per_rater;
  if (r.has_model) {
    j["model"] = {{"kappa_with_raters", to_json(r.model_vs_raters)},
                  {"mean_kappa", num(r.model_mean_kappa)},
                  {"percentile_among_raters", num(r.model_percentile)}};
    if (r.has_truth) j["model"]["truth"] = to_json(r.model_truth);
  } else {
    j["model"] = nullptr;
  }
  if (r.has_truth)
    j["raters_vs_truth"] = {{"sensitivity", to_json(r.rater_sensitivity)},
                            {"specificity", to_json(r.rater_specificity)}};
  return j;
}

nlohmann::json agreement_report(const RatingsTable& table, const std::vector<int>& model_decisions) {
  nlohmann::json j = to_json(compute_agreement(table, model_decisions));
  j["images"] = table.images.size();
  j["source"] = table.source;
  return j;
}

}  // namespace skintriage
