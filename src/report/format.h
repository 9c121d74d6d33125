// Number formatting and tolerant JSON look-ups shared by results.md and report.html.
//
// results.json may lack whole sections (an experiment run with --no-cv, a hand-made results file),
// and metrics may be null (NaN, e.g. AUROC of a class absent from a split). The writers print an
// em dash for anything missing instead of failing, so these helpers never throw on absent keys.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skintriage::report {

/// The model names of the paper, in table order.
const std::vector<std::string>& model_names();          ///< MGMT_infr, MGMT_pred, MGMT_multi
const std::vector<std::string>& ablation_inputs();      ///< C, CM, D, DM, CD, CDM
/// Human-readable name of an input set ("CDM" -> "clinical + dermoscopic + metadata").
std::string inputs_description(const std::string& inputs);

/// j[a][b]... as a JSON pointer-like path; nullptr when any step is missing.
const nlohmann::json* find(const nlohmann::json& j, const std::vector<std::string>& path);
/// A number at a path; NaN when missing, null or not a number.
double number_at(const nlohmann::json& j, const std::vector<std::string>& path);

/// "0.7367" (digits decimals) or the em dash for NaN.
std::string fmt(double v, int digits = 4);
/// "0.7301 ± 0.0123" or the em dash.
std::string fmt_pm(double mean, double std, int digits = 4);
/// "[0.701, 0.772]" from a two-element JSON array (or {"lo","hi"}); "" when absent.
std::string fmt_ci(const nlohmann::json* ci, int digits = 3);
/// Signed percentage: "+11.7%"; em dash for NaN.
std::string fmt_percent(double ratio_minus_one, int digits = 1);

extern const char* const kDash;

}  // namespace skintriage::report
