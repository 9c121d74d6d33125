// The report's tables, built once from results.json and rendered as Markdown (results.md) or
// HTML (report.html), so both documents always show the same numbers in the same layout.
//
// Layouts follow the paper: Table 2 (MGMT_infr vs MGMT_pred per class), Table 3 (MGMT_multi, plus
// its diagnosis and seven-criteria heads), Table 4 (input ablation), then cross-validation,
// relative improvements, paired tests, seeds and the gap to the published numbers. A table whose
// section is absent from results.json comes back with no rows; the writers skip it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skintriage::report {

struct Cell {
  std::string text;
  std::string ci;  ///< optional 95% CI, shown after the value
};

struct Table {
  std::string id;       ///< HTML element id
  std::string caption;
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
  std::string note;     ///< shown under the table
  bool empty() const { return rows.empty(); }
};

/// Per-class one-vs-rest sensitivity/specificity/precision/AUROC and their mean, one column group per model.
Table table_per_class(const nlohmann::json& results, const std::vector<std::string>& models, const std::string& id,
                      const std::string& caption);
/// Accuracy, macro metrics (with 95% CIs) and over-excision of official-split models.
Table table_summary(const nlohmann::json& results, const std::vector<std::string>& models, const std::string& id,
                    const std::string& caption);
/// Accuracy and macro AUROC of every other head of a model (DIAG and the seven criteria for MGMT_multi).
Table table_heads(const nlohmann::json& results, const std::string& model);
/// Table 4: MGMT_multi per input subset.
Table table_ablation(const nlohmann::json& results);
/// Cross-validation mean ± std of the averaged metrics per model.
Table table_cv(const nlohmann::json& results);
/// The decision policy's operating point per model: excision sensitivity, specificity, over-excision and
/// accuracy of its decisions on the official test split, and the cross-validation mean ± std.
Table table_policy(const nlohmann::json& results);
/// Per-fold accuracy and macro AUROC per model.
Table table_cv_folds(const nlohmann::json& results);
/// Relative improvements (MGMT_pred over MGMT_infr, MGMT_multi over MGMT_pred) in accuracy and AUROC.
Table table_relative(const nlohmann::json& results);
/// McNemar (exact, mid-p) and per-class DeLong tests on the official split.
Table table_paired(const nlohmann::json& results);
/// Mean ± std over seeds of each official model (only when --seeds > 1).
Table table_seeds(const nlohmann::json& results);
/// Our numbers next to the paper's published ones.
Table table_paper_gap(const nlohmann::json& results);
/// Data summary: cases per split and management class counts.
Table table_data(const nlohmann::json& results);

/// GitHub-flavoured Markdown table (caption as a bold line, note in italics).
std::string render_markdown(const Table& t);
/// <table id=...> with caption, header and a note paragraph; text is escaped.
std::string render_html(const Table& t);

}  // namespace skintriage::report
