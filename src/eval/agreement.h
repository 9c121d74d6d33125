// Agreement of a model with a panel of raters (the paper's MClass-D check).
//
// Input: binary decisions [images][raters] (1 = biopsy/excise, 0 = reassure), optionally the ground truth
// per image and the model's binary decision per image. Output: the distribution of Cohen's kappa between
// every pair of raters, the model's kappa with each rater, where the model ranks among the raters (each rater
// scored by the mean kappa with the other raters, the model by its mean kappa with all raters), and
// sensitivity/specificity of raters and model against the truth.
//
// Ratings CSV: one row per image, an `image` column, an optional `truth` column, every other column is one
// rater with 0/1 values. The `agree` command (cmd_predict.cpp) runs the model and calls agreement_report().
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skintriage {

struct RatingsTable {
  std::string source;
  std::vector<std::string> images;          ///< as written in the `image` column
  std::vector<std::string> raters;          ///< rater column names
  std::vector<std::vector<int>> ratings;    ///< [image][rater], 0/1
  std::vector<int> truth;                   ///< 0/1 per image; empty when no `truth` column
};

/// Reads a ratings CSV; InputError naming file, line and column for a missing `image` column, no rater
/// columns, fewer than 2 raters, a value other than 0/1, an empty or duplicated image name, no rows.
RatingsTable read_ratings_csv(const std::string& path);
RatingsTable parse_ratings_csv(const std::string& text, const std::string& path);

/// Distribution summary: mean, median, quartiles (numpy linear percentiles), min, max.
struct Summary {
  long n = 0;
  double mean = 0, median = 0, q1 = 0, q3 = 0, min = 0, max = 0;
};
/// NaN values are left out (counted in n only when finite). All-NaN or empty -> every field NaN, n = 0.
Summary summarize(const std::vector<double>& values);
nlohmann::json to_json(const Summary& s);

struct SensSpec {
  double sensitivity = 0, specificity = 0;  ///< NaN when the truth has no positives / no negatives
};

struct AgreementResult {
  std::vector<std::string> raters;
  std::vector<std::vector<double>> rater_kappa;  ///< [rater][rater], diagonal 1 (NaN when undefined)
  Summary rater_pairs;                           ///< over the R(R-1)/2 distinct pairs
  std::vector<double> rater_mean_kappa;          ///< per rater: mean kappa with the other raters
  bool has_model = false;
  std::vector<double> model_kappa;               ///< per rater
  Summary model_vs_raters;
  double model_mean_kappa = 0;
  /// 100 * (raters with a lower mean kappa + half of the ties) / R.
  double model_percentile = 0;
  bool has_truth = false;
  std::vector<SensSpec> rater_truth;             ///< per rater
  Summary rater_sensitivity, rater_specificity;
  SensSpec model_truth;
};

/// Computes the agreement statistics. `model_decisions` is empty (raters only) or 0/1 per image in the
/// table's row order. InputError when sizes differ or a decision is not 0/1.
AgreementResult compute_agreement(const RatingsTable& table, const std::vector<int>& model_decisions = {});
/// Everything as JSON (NaN -> null).
nlohmann::json to_json(const AgreementResult& r);
/// compute_agreement + to_json: the whole `agree` report.
nlohmann::json agreement_report(const RatingsTable& table, const std::vector<int>& model_decisions = {});

}  // namespace skintriage
