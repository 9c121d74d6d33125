#include "data/load.h"

#include <filesystem>

#include "core/error.h"
#include "core/strings.h"
#include "data/derm7pt.h"
#include "data/manifest.h"

namespace skintriage {

Dataset load_dataset(const std::string& path, const DataOptions& options, std::vector<std::string>* errors) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (!is_derm7pt_release(path))
      throw InputError(path + ": folder has no meta/meta.csv (expected a derm7pt release folder or a .csv manifest)");
    return load_derm7pt(path, options, errors);
  }
  if (ends_with(to_lower(path), ".csv")) {
    if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path + ": manifest file not found");
    return load_manifest(path, options, errors);
  }
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": no such file or folder");
  throw InputError(path + ": not a dataset (expected a derm7pt release folder or a .csv manifest)");
}

}  // namespace skintriage
