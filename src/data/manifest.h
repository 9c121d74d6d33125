// Loader for the generic CSV manifest: bring your own images and labels (format in docs/data.md).
//
//   case,clinic,derm,sex,location,elevation,split,<label columns...>
//
// `case` (or `id`) names each case; `clinic` and `derm` are image paths relative to the
// manifest's folder (either may be empty, not both); `sex`/`location`/`elevation` are optional
// and use derm7pt's vocabulary (one-hot, has_meta); `split` is train/valid/test (or give split
// files in DataOptions). Every other column (or those named in DataOptions::label_columns) is a
// label head whose classes are its distinct non-empty values, sorted as text ("0.0" and "1.0"
// stay text); an empty label cell means unlabeled for that head. Errors are collected as for derm7pt.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/options.h"

namespace skintriage {

/// Column names with a fixed meaning in a manifest (everything else may be a label).
const std::vector<std::string>& manifest_reserved_columns();

/// Loads a manifest. Error handling as load_derm7pt: throws InputErrors when `errors` is null,
/// else appends to it and returns what could be read.
Dataset load_manifest(const std::string& csv_path, const DataOptions& options = {},
                      std::vector<std::string>* errors = nullptr);

}  // namespace skintriage
