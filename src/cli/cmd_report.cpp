#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace skintriage::cli {

// Not yet written: the owning module adds its subcommand here.
void register_report(CLI::App&) {}

}  // namespace skintriage::cli
