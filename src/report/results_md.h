// results.md: the experiment's tables as Markdown, laid out like the paper's Tables 2-4, plus
// cross-validation, relative improvements, paired tests and the gap to the published numbers.
// Built from results.json alone (the same tables report.html shows). Torch-free.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace skintriage::report {

std::string render_results_md(const nlohmann::json& results);
/// Writes DIR/results.md atomically.
void write_results_md(const std::string& experiment_dir, const nlohmann::json& results);

}  // namespace skintriage::report
