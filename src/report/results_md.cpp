#include "report/results_md.h"

#include <sstream>

#include "core/files.h"
#include "report/format.h"
#include "report/tables.h"

namespace skintriage::report {

using nlohmann::json;

namespace {

std::string config_line(const json& r) {
  std::ostringstream s;
  const json* c = find(r, {"config"});
  if (!c) return "";
  auto str = [&](const char* key) -> std::string {
    const json* v = find(*c, {key});
    if (!v) return "";
    return v->is_string() ? v->get<std::string>() : v->dump();
  };
  s << "Mode `" << str("mode") << "`, seeds " << str("seeds") << ", epochs " << str("epochs");
  std::string priors = str("priors");
  if (!priors.empty()) s << ", MGMT_infr priors from `" << priors << "`";
  std::string weights = str("weights");
  s << ", backbone weights " << (weights.empty() || weights == "\"\"" ? "none (random init)" : "`" + weights + "`")
    << ".";
  return s.str();
}

}  // namespace

std::string render_results_md(const json& r) {
  std::ostringstream s;
  s << "# Results\n\n";
  if (const json* d = find(r, {"data"})) {
    s << "Data: `" << d->value("source", std::string("?")) << "` (" << d->value("format", std::string("?")) << ", "
      << fmt(number_at(*d, {"cases"}), 0) << " cases). " << config_line(r) << "\n\n";
  }
  s << render_markdown(table_data(r));
  s << "## Official split\n\n";
  s << render_markdown(table_per_class(r, {"MGMT_infr", "MGMT_pred"}, "table2",
                                       "Table 2: MGMT_infr vs MGMT_pred, inputs CDM (test split)"));
  s << render_markdown(table_per_class(r, {"MGMT_multi"}, "table3", "Table 3: MGMT_multi, inputs CDM (test split)"));
  s << render_markdown(table_summary(r, model_names(), "table-summary", "Overall (test split, 95% CI)"));
  s << render_markdown(table_heads(r, "MGMT_multi"));
  s << render_markdown(table_policy(r));
  s << render_markdown(table_ablation(r));
  s << render_markdown(table_paired(r));
  s << render_markdown(table_seeds(r));
  Table cv = table_cv(r);
  if (!cv.empty()) {
    s << "## Cross-validation\n\n";
    s << render_markdown(cv);
    s << render_markdown(table_cv_folds(r));
  }
  s << render_markdown(table_relative(r));
  Table gap = table_paper_gap(r);
  if (!gap.empty()) {
    s << "## Comparison with the paper\n\n";
    if (const json* p = find(r, {"paper", "citation"}); p && p->is_string()) s << p->get<std::string>() << ".\n\n";
    s << render_markdown(gap);
  }
  if (const json* prior = find(r, {"config", "priors"}); prior && prior->is_string() && *prior == "train") {
    s << "*MGMT_infr uses management priors P(m|d) counted on the training split. The paper's MGMT_infr numbers are "
         "only consistent with priors counted over all cases (including the test split); rerun with "
         "`--priors all` to reproduce that setting.*\n";
  }
  return s.str();
}

void write_results_md(const std::string& dir, const json& results) {
  write_file_atomic(join_path(dir, "results.md"), render_results_md(results));
}

}  // namespace skintriage::report
