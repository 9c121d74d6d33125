// Management priors P(m|d) and the MGMT_infr model of the paper.
//
// MGMT_infr trains a diagnosis (DIAG) model and infers management as
//     P(m|x) = sum_d P(d|x) * P(m|d),
// with P(m|d) the management distribution of each diagnosis class counted over a set of cases: the
// training split by default, every case ("all": the paper's published numbers are only consistent
// with priors over all 1011 cases, which leaks test labels into the model), or a file. The decision
// is the argmax of P(m|x). A diagnosis class with no counted case gets the overall management
// distribution of the counted cases (never a division by zero). Torch-free.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace skintriage {

struct ManagementPriors {
  std::vector<std::string> diag_classes;  ///< row order (DIAG head classes)
  std::vector<std::string> mgmt_classes;  ///< column order (MGMT head classes)
  std::vector<std::vector<double>> p;     ///< [d][m], each row sums to 1
  std::vector<std::vector<int>> counts;   ///< [d][m] counts the rows came from (empty when read from a file)
  std::string source;                     ///< "train", "all", or the file path

  /// {"source", "diag_classes", "mgmt_classes", "p", "counts"}.
  nlohmann::json to_json() const;
  /// Reads the to_json() shape; InputError naming `where` for bad shapes or values.
  static ManagementPriors from_json(const nlohmann::json& j, const std::string& where);
};

/// Counts P(m|d) over `positions` of `data` (cases labelled for both DIAG and MGMT).
ManagementPriors estimate_priors(const Dataset& data, const std::vector<int>& positions,
                                 const std::string& source);

/// Reads priors from a JSON file (to_json shape) or a CSV file with a `diagnosis` column and one
/// column per management class (counts or probabilities; rows are normalised). Class names must
/// match the dataset's DIAG / MGMT heads when given (`diag`, `mgmt` non-null).
ManagementPriors load_priors(const std::string& path, const HeadSpec* diag, const HeadSpec* mgmt);

/// "train" (the `train_positions`), "all" (every case), or a file path.
ManagementPriors resolve_priors(const std::string& spec, const Dataset& data,
                                const std::vector<int>& train_positions);

/// P(m|x) for each row of diagnosis probabilities [case][d] (columns in priors.diag_classes order).
std::vector<std::vector<double>> infer_management(const std::vector<std::vector<double>>& diag_probs,
                                                  const ManagementPriors& priors);

/// Index of the largest value (first on ties).
int argmax_class(const std::vector<double>& v);

}  // namespace skintriage
