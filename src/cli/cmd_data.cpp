// `skintriage data check`: validate a derm7pt release folder or a CSV manifest and summarise it.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/check.h"

namespace skintriage::cli {

namespace {
struct DataCheckArgs {
  std::string data;
  bool json = false;
  bool verify_images = false;
  int crop_border = -1;
  std::vector<std::string> labels;
  std::vector<std::string> split_files;
};
}  // namespace

void register_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Dataset tools");
  data->require_subcommand(1);
  auto args = std::make_shared<DataCheckArgs>();
  auto* check = data->add_subcommand("check", "Validate a dataset (derm7pt release folder or CSV manifest) and summarise it");
  check->add_option("--data", args->data, "derm7pt release folder (with meta/meta.csv) or a .csv manifest")->required();
  check->add_flag("--json", args->json, "Print one JSON object (counts per split and every error)");
  check->add_flag("--verify-images", args->verify_images, "Decode every image and report corrupt ones");
  check->add_option("--crop-border", args->crop_border, "Pixels cropped per image side (default: 25 derm7pt, 0 manifest)");
  check->add_option("--labels", args->labels, "Manifest: the columns that are label heads (default: all non-reserved)")
      ->delimiter(',');
  check->add_option("--split-file", args->split_files, "Manifest: NAME=FILE split file (repeatable)");
  check->callback([args]() {
    DataOptions options;
    options.verify_images = args->verify_images;
    options.crop_border = args->crop_border;
    options.label_columns = args->labels;
    for (const auto& s : args->split_files) {
      auto eq = s.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
        throw InputError("--split-file '" + s + "': expected NAME=FILE");
      options.split_files[s.substr(0, eq)] = s.substr(eq + 1);
    }
    DataCheck result = check_dataset(args->data, options);
    if (args->json)
      std::cout << result.summary.dump(2) << "\n";
    else
      std::cout << format_check_text(result);
    // The errors are in the output (JSON "errors" or the text listing); only the exit code remains.
    if (!result.ok()) throw CLI::RuntimeError(2);
  });
}

}  // namespace skintriage::cli
