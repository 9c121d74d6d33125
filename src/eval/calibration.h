// Calibration: temperature scaling and reliability-diagram data.
//
// Temperature scaling (Guo et al. 2017) divides a head's logits by one scalar T > 0 fitted on the
// validation split by minimising the negative log-likelihood. The NLL is convex in 1/T, hence unimodal in
// log T, so a bounded golden-section search on log T in [log t_min, log t_max] finds the optimum robustly
// (no gradient, no divergence on separable data: T then runs to the bound). Models that only produce
// probabilities (MGMT_infr) can be scaled through their log-probabilities (logits_from_probs).
//
// The reliability bins are the ones the ECE of eval/metrics.h uses: equal-width bins on the top-label
// confidence, bin b = (b/B, (b+1)/B], a confidence of exactly 0 in bin 0.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

namespace skintriage {

struct TemperatureOptions {
  double t_min = 0.05, t_max = 20.0;
  double tolerance = 1e-7;  ///< on log T
};

struct TemperatureFit {
  double temperature = 1;
  double nll_before = 0;  ///< mean NLL at T = 1
  double nll_after = 0;   ///< mean NLL at the fitted T
  bool at_bound = false;  ///< true when the optimum hit t_min or t_max
};

/// Fits T on logits [N][K] and labels [N]. InputError on empty input, ragged rows, non-finite logits,
/// labels out of range.
TemperatureFit fit_temperature(const std::vector<std::vector<double>>& logits, const std::vector<int>& labels,
                               const TemperatureOptions& options = {});
/// Mean negative log-likelihood of softmax(logits / T).
double temperature_nll(const std::vector<std::vector<double>>& logits, const std::vector<int>& labels, double t);
/// softmax(logits / T) row by row (numerically stable).
std::vector<std::vector<double>> apply_temperature(const std::vector<std::vector<double>>& logits, double t);
std::vector<double> softmax(const std::vector<double>& logits, double t = 1.0);
/// log(max(p, 1e-12)) per entry, for scaling models that output probabilities.
std::vector<std::vector<double>> logits_from_probs(const std::vector<std::vector<double>>& probs);

nlohmann::json to_json(const TemperatureFit& fit);

struct ReliabilityBin {
  double lower = 0, upper = 0;
  long count = 0;
  double mean_confidence = 0;  ///< 0 when empty
  double accuracy = 0;         ///< 0 when empty
};

struct ReliabilityDiagram {
  std::vector<ReliabilityBin> bins;
  double ece = 0;  ///< sum_b count_b / N * |accuracy_b - mean_confidence_b|
};

/// Top-label reliability data of argmax decisions (ties -> lowest index), `n_bins` equal-width bins.
ReliabilityDiagram reliability_diagram(const std::vector<int>& labels, const std::vector<std::vector<double>>& probs,
                                       int n_bins = 15);
nlohmann::json to_json(const ReliabilityDiagram& d);

}  // namespace skintriage
