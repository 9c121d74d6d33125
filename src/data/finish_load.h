// How a loader that collects every error in one pass hands back its result.
//
// The derm7pt and manifest loaders both gather all problems of a file before reporting them, so a user
// sees every missing image or bad label at once; this is the one place that decides what happens next.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace skintriage {

/// When the caller collects errors itself (`errors_out` not null), appends `errors` there and returns the
/// dataset as far as it loaded; otherwise throws any errors together as one InputErrors.
Dataset finish_load(Dataset data, const std::vector<std::string>& errors, std::vector<std::string>* errors_out);

}  // namespace skintriage
