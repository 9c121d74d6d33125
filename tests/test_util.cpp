#include "test_util.h"

#include "core/allocator.h"
#include "core/blas.h"
#include "core/error.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace fs = std::filesystem;

namespace {
// Every test process tunes itself as the CLI's main does (core/allocator.h, core/blas.h): same code paths, and the
// model and training tests run several times faster.
const bool g_tuned = [] {
  skintriage::tune_allocator();
  skintriage::tune_blas();
  return true;
}();
}  // namespace

namespace skintriage::testutil {

static std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string shared_dir() {
  std::string d = env_or("SKINTRIAGE_SHARED", "");
  return (!d.empty() && fs::exists(d)) ? d : "";
}
std::string shared_mobilenet_weights() {
  std::string d = shared_dir();
  if (d.empty()) return "";
  std::string w = d + "/weights/mobilenet_v2_imagenet/mobilenet_v2_imagenet1001.pth";
  return fs::exists(w) ? w : "";
}
std::string python() { return env_or("SKINTRIAGE_PYTHON", "/usr/bin/python3"); }
std::string cli_binary() { return env_or("SKINTRIAGE_BIN", "skintriage"); }
std::string source_dir() { return env_or("SKINTRIAGE_SOURCE_DIR", "."); }

namespace {
struct TempDirs {
  std::mutex mu;
  std::vector<std::string> dirs;
  ~TempDirs() {
    if (std::getenv("SKINTRIAGE_KEEP_TEMP")) return;
    for (auto& d : dirs) {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  }
};
TempDirs& temp_dirs() {
  static TempDirs t;
  return t;
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  std::string pattern = (fs::temp_directory_path() / ("skintriage_" + tag + "_XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  char* made = ::mkdtemp(buf.data());
  if (!made) return "";
  std::lock_guard<std::mutex> lock(temp_dirs().mu);
  temp_dirs().dirs.push_back(made);
  return made;
}

int run_command(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool python_has(const std::string& modules) {
  std::string out;
  return run_command(python() + " -c 'import " + modules + "'", out) == 0;
}

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace skintriage::testutil
