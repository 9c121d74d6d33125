// `skintriage data check`: validate a dataset and summarise it.
//
// The JSON summary has the shape of issue 2:
//   {"cases": N, "splits": {"train": n, ...}, "management": {"<split>": {"NONE": n, "CLNC": n, "EXC": n}},
//    "diagnosis5": {"<split>": {"BCC": n, "NEV": n, "MEL": n, "MISC": n, "SK": n}},
//    "missing_clinical": n, "errors": [ ... ]}
// plus "format", "source", "crop_border", "missing_dermoscopic", "with_meta" and "labels":
// {"<HEAD>": {"<split>": {"<CLASS>": n}}} for every head (manifests have no MGMT/DIAG, so their
// management/diagnosis5 objects are empty and their counts are under "labels").
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/options.h"

namespace skintriage {

struct DataCheck {
  nlohmann::json summary;           ///< the object above, "errors" included
  std::vector<std::string> errors;  ///< same as summary["errors"]
  bool ok() const { return errors.empty(); }
};

/// Summary counts of a loaded dataset (no "errors" key).
nlohmann::json summarize_dataset(const Dataset& data);
/// Loads `path` collecting every problem, and summarises what could be read.
DataCheck check_dataset(const std::string& path, const DataOptions& options = {});
/// Human-readable summary (tables of counts, then the errors).
std::string format_check_text(const DataCheck& check);

}  // namespace skintriage
