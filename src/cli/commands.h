// Subcommand registration. Each cmd_<name>.cpp file adds its subcommand(s) to the app and owns
// its option parsing; the work itself lives in the library modules so tests can call it directly.
#pragma once

namespace CLI {
class App;
}

namespace skintriage::cli {

void register_data(CLI::App& app);        // data check            (cmd_data.cpp)
void register_synth(CLI::App& app);       // synth                 (cmd_synth.cpp)
void register_weights(CLI::App& app);     // weights inspect, classify (cmd_weights.cpp)
void register_train(CLI::App& app);       // train, eval           (cmd_train.cpp)
void register_experiment(CLI::App& app);  // experiment            (cmd_experiment.cpp)
void register_metrics(CLI::App& app);     // metrics               (cmd_metrics.cpp)
void register_report(CLI::App& app);      // report                (cmd_report.cpp)
void register_predict(CLI::App& app);     // predict, agree        (cmd_predict.cpp)
void register_serve(CLI::App& app);       // serve                 (cmd_serve.cpp)

}  // namespace skintriage::cli
