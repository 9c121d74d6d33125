// `skintriage synth`: write a synthetic derm7pt release (the embedded default dataset).
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/synth.h"

namespace skintriage::cli {

namespace {
struct SynthArgs {
  std::string out;
  int cases = 300;
  uint64_t seed = 1;
  std::string size = "768x512";
  int threads = 0;
};
}  // namespace

void register_synth(CLI::App& app) {
  auto args = std::make_shared<SynthArgs>();
  auto* cmd = app.add_subcommand("synth", "Write a synthetic release in the exact derm7pt format (meta/, images/)");
  cmd->add_option("--out", args->out, "Output folder (created)")->required();
  cmd->add_option("--cases", args->cases, "Number of cases")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Random seed (same seed, same release)")->capture_default_str();
  cmd->add_option("--size", args->size, "Image size WxH")->capture_default_str();
  cmd->add_option("--threads", args->threads, "Worker threads (0 = all cores)")->capture_default_str();
  cmd->callback([args]() {
    SynthOptions o;
    o.cases = args->cases;
    o.seed = args->seed;
    o.threads = args->threads;
    auto parts = split(to_lower(args->size), 'x');
    long w = 0, h = 0;
    if (parts.size() != 2 || !parse_int(parts[0], w) || !parse_int(parts[1], h))
      throw InputError("--size '" + args->size + "': expected WxH, e.g. 768x512");
    o.width = static_cast<int>(w);
    o.height = static_cast<int>(h);
    auto t0 = std::chrono::steady_clock::now();
    write_synthetic_release(args->out, o);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "wrote " << o.cases << " cases (" << o.width << "x" << o.height << ", seed " << o.seed << ") to "
              << args->out << " in " << fixed(s, 1) << " s\n";
  });
}

}  // namespace skintriage::cli
