// A hand-made experiment folder for the report tests: results.json in the documented shape (metrics
// computed by eval/metrics.h from generated predictions), predictions CSVs and training logs.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace skintriage::testutil {

struct FakeExperimentOptions {
  int cases = 120;
  bool cv = true;
  bool ablation = true;
  int seeds = 1;
};

/// Writes DIR/results.json, DIR/runs/... (predictions_test.csv, log.csv). Returns results.json's content.
nlohmann::json write_fake_experiment(const std::string& dir, const FakeExperimentOptions& options = {});

}  // namespace skintriage::testutil
