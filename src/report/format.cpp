#include "report/format.h"

#include <cmath>
#include <cstdio>

namespace skintriage::report {

const char* const kDash = "\xe2\x80\x94";

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> v{"MGMT_infr", "MGMT_pred", "MGMT_multi"};
  return v;
}

const std::vector<std::string>& ablation_inputs() {
  static const std::vector<std::string> v{"C", "CM", "D", "DM", "CD", "CDM"};
  return v;
}

std::string inputs_description(const std::string& inputs) {
  std::string out;
  auto add = [&](const char* s) { out += (out.empty() ? "" : " + ") + std::string(s); };
  if (inputs.find('C') != std::string::npos) add("clinical");
  if (inputs.find('D') != std::string::npos) add("dermoscopic");
  if (inputs.find('M') != std::string::npos) add("metadata");
  return out.empty() ? inputs : out;
}

const nlohmann::json* find(const nlohmann::json& j, const std::vector<std::string>& path) {
  const nlohmann::json* cur = &j;
  for (const auto& key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

double number_at(const nlohmann::json& j, const std::vector<std::string>& path) {
  const nlohmann::json* v = find(j, path);
  if (!v || !v->is_number()) return NAN;
  return v->get<double>();
}

std::string fmt(double v, int digits) {
  if (!std::isfinite(v)) return kDash;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string fmt_pm(double mean, double std, int digits) {
  if (!std::isfinite(mean)) return kDash;
  if (!std::isfinite(std)) return fmt(mean, digits);
  return fmt(mean, digits) + " \xc2\xb1 " + fmt(std, digits);
}

std::string fmt_ci(const nlohmann::json* ci, int digits) {
  if (!ci) return "";
  double lo = NAN, hi = NAN;
  if (ci->is_array() && ci->size() == 2 && (*ci)[0].is_number() && (*ci)[1].is_number()) {
    lo = (*ci)[0].get<double>(), hi = (*ci)[1].get<double>();
  } else if (ci->is_object()) {
    lo = number_at(*ci, {"lo"}), hi = number_at(*ci, {"hi"});
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) return "";
  return "[" + fmt(lo, digits) + ", " + fmt(hi, digits) + "]";
}

std::string fmt_percent(double r, int digits) {
  if (!std::isfinite(r)) return kDash;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.*f%%", digits, r * 100.0);
  return buf;
}

}  // namespace skintriage::report
