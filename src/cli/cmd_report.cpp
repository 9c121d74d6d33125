// `skintriage report --run DIR [--out FILE] [--markdown]`: (re)writes the self-contained report.html of an
// experiment folder from its results.json and run folders (experiment also does this when it finishes).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "report/html_report.h"
#include "report/results_md.h"

namespace skintriage::cli {

void register_report(CLI::App& app) {
  struct Options {
    std::string run, out;
    bool markdown = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("report", "Write the self-contained report.html of an experiment folder");
  cmd->add_option("--run", opt->run, "Experiment folder (holds results.json)")->required();
  cmd->add_option("--out", opt->out, "Output HTML file (default RUN/report.html)");
  cmd->add_flag("--markdown", opt->markdown, "Also rewrite RUN/results.md from results.json");
  cmd->callback([opt]() {
    std::string path = report::write_report(opt->run, opt->out);
    std::cout << "wrote " << path << "\n";
    if (opt->markdown) {
      report::write_results_md(opt->run, report::read_results(opt->run));
      std::cout << "wrote " << opt->run << "/results.md\n";
    }
  });
}

}  // namespace skintriage::cli
