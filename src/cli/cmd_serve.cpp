// `skintriage serve`: the HTTP API and the clinician's web page over one loaded model.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "serve/predictor.h"
#include "serve/server.h"

namespace skintriage::cli {

namespace {

Server* g_server = nullptr;

extern "C" void stop_on_signal(int) {
  if (g_server) g_server->stop();
}

struct ServeArgs {
  std::string model;
  ServerOptions options;
  double max_body_mb = 24;
  bool quiet = false;
};

void run_serve(ServeArgs& a) {
  if (a.options.token.empty())
    if (const char* env = std::getenv("SKINTRIAGE_TOKEN")) a.options.token = env;
  a.options.max_body_bytes = static_cast<size_t>(a.max_body_mb * 1024 * 1024);
  a.options.access_log = !a.quiet;
  auto predictor = std::make_shared<const Predictor>(a.model);
  Server server(predictor, a.options);
  int port = server.bind();
  g_server = &server;
  std::signal(SIGINT, stop_on_signal);
  std::signal(SIGTERM, stop_on_signal);
  std::cerr << "serve: model " << a.model << " on http://" << a.options.host << ":" << port << "/  ("
            << a.options.workers << " workers, queue " << a.options.queue
            << (a.options.token.empty() ? ", no token" : ", bearer token required") << ")\n";
  server.serve_forever();
  g_server = nullptr;
}

}  // namespace

void register_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* s = app.add_subcommand("serve", "Serve the prediction API and the clinician's web page");
  s->add_option("--model", args->model, "Run folder or model folder")->required();
  s->add_option("--host", args->options.host, "Address to listen on (default 127.0.0.1: this machine only)");
  s->add_option("--port", args->options.port, "Port (0 = any free port)")->check(CLI::Range(0, 65535));
  s->add_option("--workers", args->options.workers, "Predictions running at once")->check(CLI::Range(1, 64));
  s->add_option("--queue", args->options.queue, "Predictions allowed to wait; beyond: 503")->check(CLI::Range(0, 1024));
  s->add_option("--threads", args->options.http_threads, "HTTP connection threads")->check(CLI::Range(2, 256));
  s->add_option("--token", args->options.token, "Bearer token required on /api/ routes (or env SKINTRIAGE_TOKEN)");
  s->add_option("--max-body-mb", args->max_body_mb, "Largest request body in MiB")->check(CLI::Range(0.01, 1024.0));
  s->add_option("--max-image-side", args->options.max_image_side, "Largest image width or height")
      ->check(CLI::Range(16, 65535));
  s->add_flag("--quiet", args->quiet, "No access log");
  s->callback([args] { run_serve(*args); });
}

}  // namespace skintriage::cli
