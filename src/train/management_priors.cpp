#include "train/management_priors.h"

#include <cmath>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"

namespace skintriage {

using json = nlohmann::json;

namespace {

void normalise_rows(ManagementPriors& pr, const std::vector<double>& fallback) {
  for (auto& row : pr.p) {
    double sum = 0;
    for (double v : row) sum += v;
    if (sum > 0) {
      for (double& v : row) v /= sum;
    } else {
      row = fallback;
    }
  }
}

void check_classes(const std::vector<std::string>& got, const HeadSpec* head, const std::string& where,
                   const std::string& what) {
  if (!head) return;
  if (got != head->classes) {
    std::string a, b;
    for (const auto& s : got) a += (a.empty() ? "" : ",") + s;
    for (const auto& s : head->classes) b += (b.empty() ? "" : ",") + s;
    throw InputError(where + ": " + what + " classes [" + a + "] do not match the dataset's " + head->name +
                     " head [" + b + "]");
  }
}

}  // namespace

json ManagementPriors::to_json() const {
  json j{{"source", source}, {"diag_classes", diag_classes}, {"mgmt_classes", mgmt_classes}, {"p", p}};
  if (!counts.empty()) j["counts"] = counts;
  return j;
}

ManagementPriors ManagementPriors::from_json(const json& j, const std::string& where) {
  ManagementPriors pr;
  try {
    if (!j.is_object()) throw InputError(where + ": priors must be a JSON object");
    pr.diag_classes = j.at("diag_classes").get<std::vector<std::string>>();
    pr.mgmt_classes = j.at("mgmt_classes").get<std::vector<std::string>>();
    pr.p = j.at("p").get<std::vector<std::vector<double>>>();
    if (j.contains("counts")) pr.counts = j.at("counts").get<std::vector<std::vector<int>>>();
    pr.source = j.value("source", where);
  } catch (const json::exception& e) {
    throw InputError(where + ": priors: " + e.what());
  }
  if (pr.diag_classes.empty() || pr.mgmt_classes.empty())
    throw InputError(where + ": priors: empty class list");
  if (pr.p.size() != pr.diag_classes.size())
    throw InputError(where + ": priors: 'p' has " + std::to_string(pr.p.size()) + " rows, expected " +
                     std::to_string(pr.diag_classes.size()));
  for (size_t d = 0; d < pr.p.size(); ++d) {
    if (pr.p[d].size() != pr.mgmt_classes.size())
      throw InputError(where + ": priors: row " + std::to_string(d) + " ('" + pr.diag_classes[d] + "') has " +
                       std::to_string(pr.p[d].size()) + " values, expected " + std::to_string(pr.mgmt_classes.size()));
    double sum = 0;
    for (double v : pr.p[d]) {
      if (!std::isfinite(v) || v < 0)
        throw InputError(where + ": priors: row '" + pr.diag_classes[d] + "' has a negative or non-finite value");
      sum += v;
    }
    if (std::abs(sum - 1.0) > 1e-6)
      throw InputError(where + ": priors: row '" + pr.diag_classes[d] + "' sums to " + std::to_string(sum) +
                       ", not 1");
  }
  return pr;
}

ManagementPriors estimate_priors(const Dataset& data, const std::vector<int>& positions, const std::string& source) {
  const HeadSpec* diag = data.head("DIAG");
  const HeadSpec* mgmt = data.head("MGMT");
  if (!diag || !mgmt)
    throw InputError(data.source + ": management priors need both DIAG and MGMT labels in the dataset");
  ManagementPriors pr;
  pr.source = source;
  pr.diag_classes = diag->classes;
  pr.mgmt_classes = mgmt->classes;
  const size_t nd = diag->classes.size(), nm = mgmt->classes.size();
  pr.counts.assign(nd, std::vector<int>(nm, 0));
  std::vector<double> overall(nm, 0.0);
  int total = 0;
  for (int pos : positions) {
    if (pos < 0 || static_cast<size_t>(pos) >= data.cases.size())
      throw InputError(data.source + ": case position " + std::to_string(pos) + " out of range");
    const Case& c = data.cases[static_cast<size_t>(pos)];
    auto d = c.labels.find("DIAG"), m = c.labels.find("MGMT");
    if (d == c.labels.end() || m == c.labels.end()) continue;
    if (d->second < 0 || static_cast<size_t>(d->second) >= nd || m->second < 0 || static_cast<size_t>(m->second) >= nm)
      continue;
    pr.counts[static_cast<size_t>(d->second)][static_cast<size_t>(m->second)]++;
    overall[static_cast<size_t>(m->second)] += 1;
    ++total;
  }
  if (total == 0) throw InputError(data.source + ": no case has both DIAG and MGMT labels to count priors on");
  for (double& v : overall) v /= total;
  pr.p.assign(nd, std::vector<double>(nm, 0.0));
  for (size_t d = 0; d < nd; ++d)
    for (size_t m = 0; m < nm; ++m) pr.p[d][m] = pr.counts[d][m];
  normalise_rows(pr, overall);
  return pr;
}

ManagementPriors load_priors(const std::string& path, const HeadSpec* diag, const HeadSpec* mgmt) {
  ManagementPriors pr;
  if (ends_with(to_lower(path), ".json")) {
    json j;
    try {
      j = json::parse(read_text_file(path));
    } catch (const json::parse_error& e) {
      throw InputError(path + ": not valid JSON: " + e.what());
    }
    pr = ManagementPriors::from_json(j, path);
    pr.source = path;
  } else {
    CsvTable t = read_csv(path);
    int dcol = t.require_column("diagnosis");
    for (size_t c = 0; c < t.header.size(); ++c)
      if (static_cast<int>(c) != dcol) pr.mgmt_classes.push_back(t.header[c]);
    if (pr.mgmt_classes.empty()) throw InputError(path + ": no management class columns beside 'diagnosis'");
    for (size_t r = 0; r < t.rows.size(); ++r) {
      pr.diag_classes.push_back(trim(t.at(r, dcol)));
      std::vector<double> row;
      for (size_t c = 0; c < t.header.size(); ++c) {
        if (static_cast<int>(c) == dcol) continue;
        double v;
        if (!parse_double(trim(t.at(r, static_cast<int>(c))), v) || !std::isfinite(v) || v < 0)
          throw InputError(located(path, t.rows[r].line, t.header[c],
                                   "'" + t.at(r, static_cast<int>(c)) + "' is not a non-negative number"));
        row.push_back(v);
      }
      double sum = 0;
      for (double v : row) sum += v;
      if (sum <= 0) throw InputError(located(path, t.rows[r].line, "", "row sums to 0"));
      for (double& v : row) v /= sum;
      pr.p.push_back(row);
    }
    pr.source = path;
    pr = ManagementPriors::from_json(pr.to_json(), path);
  }
  check_classes(pr.diag_classes, diag, path, "diagnosis");
  check_classes(pr.mgmt_classes, mgmt, path, "management");
  return pr;
}

ManagementPriors resolve_priors(const std::string& spec, const Dataset& data, const std::vector<int>& train_positions) {
  if (spec.empty() || spec == "train") return estimate_priors(data, train_positions, "train");
  if (spec == "all") {
    std::vector<int> all(data.cases.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    return estimate_priors(data, all, "all");
  }
  return load_priors(spec, data.head("DIAG"), data.head("MGMT"));
}

std::vector<std::vector<double>> infer_management(const std::vector<std::vector<double>>& diag_probs,
                                                  const ManagementPriors& priors) {
  const size_t nd = priors.diag_classes.size(), nm = priors.mgmt_classes.size();
  std::vector<std::vector<double>> out;
  out.reserve(diag_probs.size());
  for (size_t i = 0; i < diag_probs.size(); ++i) {
    if (diag_probs[i].size() != nd)
      throw InputError("management inference: case " + std::to_string(i) + " has " +
                       std::to_string(diag_probs[i].size()) + " diagnosis probabilities, priors have " +
                       std::to_string(nd) + " classes");
    std::vector<double> pm(nm, 0.0);
    for (size_t d = 0; d < nd; ++d)
      for (size_t m = 0; m < nm; ++m) pm[m] += diag_probs[i][d] * priors.p[d][m];
    out.push_back(std::move(pm));
  }
  return out;
}

int argmax_class(const std::vector<double>& v) {
  int best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[static_cast<size_t>(best)]) best = static_cast<int>(i);
  return v.empty() ? -1 : best;
}

}  // namespace skintriage
