// Helpers for the GoogleTest suite: environment paths, temp folders, running the CLI.
#pragma once
#include <functional>
#include <string>

namespace skintriage::testutil {

/// Folder of the shared read-only material ("" when unknown); tests needing it GTEST_SKIP when absent.
std::string shared_dir();
/// The shared ImageNet MobileNetV2 weights file ("" when absent).
std::string shared_mobilenet_weights();
/// Debian's python3 used for oracles.
std::string python();
/// Path of the built `skintriage` binary.
std::string cli_binary();
/// Project source root.
std::string source_dir();
/// A fresh empty temporary folder (removed at process exit).
std::string temp_dir(const std::string& tag);
/// Runs a shell command, returns exit status; stdout+stderr captured into `output`.
int run_command(const std::string& command, std::string& output);
/// True when `python()` can import every module in the comma-separated list.
bool python_has(const std::string& modules);
/// Runs `f`; the message of the InputError it throws, or "" when it throws none.
std::string input_error_of(const std::function<void()>& f);

}  // namespace skintriage::testutil
