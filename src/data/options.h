// Options for loading a dataset, shared by the derm7pt loader, the CSV manifest loader and `data check`.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace skintriage {

struct DataOptions {
  /// Pixels cropped from each image side before preprocessing; -1 = the format's default
  /// (25 for derm7pt's dark frame, 0 for manifests). Stored into Dataset::crop_border.
  int crop_border = -1;
  /// Decode every image at load time and report corrupt ones (slower; off by default).
  bool verify_images = false;
  /// Manifest only: the columns that are label heads. Empty = every column that is not
  /// case/id, clinic, derm, sex, location, elevation or split.
  std::vector<std::string> label_columns;
  /// Manifest only: split name -> CSV file listing that split's cases (a `case` or `id`
  /// column, or an `indexes` column of 0-based manifest rows). Relative paths are resolved
  /// against the manifest's folder. Used when the manifest has no `split` column.
  std::map<std::string, std::string> split_files;
};

}  // namespace skintriage
