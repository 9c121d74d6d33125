// One entry point for every dataset format: a derm7pt release folder (has meta/meta.csv) or a
// CSV manifest file (*.csv). Callers never need to know which one they were given.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/options.h"

namespace skintriage {

/// Loads a dataset; InputError naming the path when it is neither a release folder nor a .csv.
/// With `errors` non-null, data problems are collected there instead of thrown (see derm7pt.h).
Dataset load_dataset(const std::string& path, const DataOptions& options = {},
                     std::vector<std::string>* errors = nullptr);

}  // namespace skintriage
