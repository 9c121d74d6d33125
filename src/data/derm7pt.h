// Loader for the official derm7pt release folder (release_v0), exact to its format.
//
//   DIR/meta/meta.csv            19 columns; row i (0-based, after the header) is case i
//   DIR/meta/{train,valid,test}_indexes.csv   one column `indexes`, 0-based rows, unsorted
//   DIR/images/<folder>/<file>   JPEGs; the `clinic`/`derm` columns are paths under images/
//
// Every row is checked in one pass and ALL problems are collected (field counts, unknown labels,
// seven-point score mismatches, bad/duplicate/uncovered indexes, every missing image, and with
// DataOptions::verify_images every corrupt image) before anything is reported. Image paths are
// resolved case-insensitively when the exact path is missing (the real release mixes .jpg/.JPG
// and folder case). A case whose clinic equals derm has no clinical photo (clinic_path = "").
// Case.labels holds every head of derm7pt_heads(); Case.raw holds every meta.csv field by column name.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/options.h"

namespace skintriage {

/// The 19 meta.csv columns, in the release's order.
const std::vector<std::string>& derm7pt_columns();
/// The split names and their index files: train, valid, test.
const std::vector<std::string>& derm7pt_split_names();

/// True when `dir` looks like a release (has meta/meta.csv, case-insensitively).
bool is_derm7pt_release(const std::string& dir);

/// Loads a release. With `errors` == nullptr every problem is thrown at once as InputErrors;
/// otherwise problems are appended to `errors` and whatever could be read is returned (rows with
/// problems keep the labels that were valid), which `data check` uses to print a summary anyway.
Dataset load_derm7pt(const std::string& dir, const DataOptions& options = {},
                     std::vector<std::string>* errors = nullptr);

}  // namespace skintriage
