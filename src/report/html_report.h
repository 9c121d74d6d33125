// `skintriage report`: one self-contained report.html for an experiment folder.
//
// Input is the experiment folder alone: DIR/results.json (shape in docs/results.md) and the files
// its "artifacts" section points at (test predictions per model, each training run's log.csv).
// Output is one HTML file with inline CSS, inline SVG figures and a few lines of inline JS (a table
// of contents) and no external reference of any kind, so it can be mailed or archived as is:
// the paper-style tables with 95% CIs, ROC curves per class and model, confusion matrices (counts and
// row-normalised), reliability diagrams, the paired tests, per-fold results, training curves, the
// config and data summary, and the gap to the paper's published numbers. Torch-free.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skintriage::report {

/// Reads DIR/results.json; InputError naming the file when missing or not a JSON object.
nlohmann::json read_results(const std::string& experiment_dir);

/// The whole report as HTML text. InputError naming the file for a referenced artifact that is
/// missing or malformed (a report never silently drops a figure).
std::string render_report_html(const std::string& experiment_dir, const nlohmann::json& results);

/// Renders and writes the report atomically to `out_path` (default DIR/report.html); returns the path.
std::string write_report(const std::string& experiment_dir, const std::string& out_path = "");

/// ROC curve points (false positive rate, true positive rate) from (0,0) to (1,1), one point per distinct
/// score threshold; empty when either class is absent. Plotting data only: AUROC comes from eval/metrics.h.
void roc_points(const std::vector<bool>& positive, const std::vector<double>& scores, std::vector<double>& fpr,
                std::vector<double>& tpr);

}  // namespace skintriage::report
