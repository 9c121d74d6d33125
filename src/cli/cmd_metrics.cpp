// `skintriage metrics`: every metric of a predictions CSV with bootstrap CIs, and with --compare the paired
// tests against a second model's predictions on the same cases. The work lives in eval/evaluate.h.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/files.h"
#include "eval/evaluate.h"
#include "eval/policy.h"
#include "eval/predictions_csv.h"

namespace skintriage::cli {

namespace {

struct MetricsArgs {
  std::string predictions, compare, policy, out;
  std::string excision_class = "EXC";
  bool json = false;
  int bootstrap = 2000;
  uint64_t seed = 20210923;
};

void run_metrics(const MetricsArgs& a) {
  EvaluateOptions o;
  o.excision_class = a.excision_class;
  o.bootstrap = a.bootstrap;
  o.seed = a.seed;
  if (!a.policy.empty()) o.policy = load_policy(a.policy);
  if (a.bootstrap < 0) throw InputError("--bootstrap must be >= 0");

  Predictions pa = read_predictions_csv(a.predictions);
  nlohmann::json result;
  result["predictions"] = evaluate_predictions(pa, o);
  std::string text = format_evaluation(result["predictions"]);
  if (!a.compare.empty()) {
    Predictions pb = align_predictions(pa, read_predictions_csv(a.compare));
    result["compare"] = evaluate_predictions(pb, o);
    result["paired"] = paired_tests(pa, pb, o);
    text += "\n" + format_evaluation(result["compare"]) + "\n" + format_paired(result["paired"], a.predictions, a.compare);
  }
  if (!a.out.empty()) write_file_atomic(a.out, result.dump(2) + "\n");
  if (a.json)
    std::cout << result.dump(2) << "\n";
  else
    std::cout << text;
}

}  // namespace

void register_metrics(CLI::App& app) {
  auto args = std::make_shared<MetricsArgs>();
  CLI::App* cmd = app.add_subcommand("metrics", "Metrics with 95% CIs for a predictions CSV (case,label,p_<CLASS>...)"
                                                ", and paired tests against a second one");
  cmd->add_option("--predictions", args->predictions, "Predictions CSV: label column + one p_<CLASS> column per class")
      ->required();
  cmd->add_option("--compare", args->compare,
                  "Second predictions CSV on the same cases (paired by 'case', else by row): McNemar and DeLong");
  cmd->add_flag("--json", args->json, "Print one JSON object instead of tables");
  cmd->add_option("--bootstrap", args->bootstrap, "Bootstrap resamples for the CIs (0 = none)")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Bootstrap seed")->capture_default_str();
  cmd->add_option("--excision-class", args->excision_class,
                  "Class counted for over-excision and the operating point (\"\" = none)")
      ->capture_default_str();
  cmd->add_option("--policy", args->policy, "Decision policy JSON (default argmax)");
  cmd->add_option("--out", args->out, "Also write the JSON result to this file");
  cmd->callback([args]() { run_metrics(*args); });
}

}  // namespace skintriage::cli
