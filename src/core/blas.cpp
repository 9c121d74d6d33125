#include "core/blas.h"

#include <dlfcn.h>

#include <cstdlib>

namespace skintriage {

namespace {

template <typename F>
F openblas_symbol(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

// Kernel set for this CPU among those every DYNAMIC_ARCH OpenBLAS build carries ("" = keep).
std::string wanted_core() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

}  // namespace

std::string blas_core_name() {
  auto corename = openblas_symbol<char* (*)()>("openblas_get_corename");
  if (corename == nullptr) return "";
  const char* name = corename();
  return name ? name : "";
}

namespace {

// The kernel step of tune_blas(): the description of OpenBLAS's kernel set after it.
std::string tune_kernels(const std::string& core) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return "OpenBLAS core " + core + " (set by OPENBLAS_CORETYPE)";
  // Only the generic fallback is replaced: a core OpenBLAS recognised is its own best choice.
  if (core != "Prescott") return "OpenBLAS core " + core;
  const std::string want = wanted_core();
  auto quit = openblas_symbol<void (*)()>("gotoblas_dynamic_quit");
  auto init = openblas_symbol<void (*)()>("gotoblas_dynamic_init");
  if (want.empty() || quit == nullptr || init == nullptr) return "OpenBLAS core " + core;
  // gotoblas_dynamic_init() reads OPENBLAS_CORETYPE; the variable is removed again afterwards so
  // child processes keep choosing for themselves.
  setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
  quit();
  init();
  unsetenv("OPENBLAS_CORETYPE");
  return "OpenBLAS core " + core + " -> " + blas_core_name();
}

// The thread step of tune_blas(): one OpenBLAS thread unless the user chose a count.
std::string tune_threads() {
  for (const char* user : {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS"})
    if (std::getenv(user) != nullptr) return std::string(", threads as set by ") + user;
  auto set_threads = openblas_symbol<void (*)(int)>("openblas_set_num_threads");
  if (set_threads == nullptr) return "";
  set_threads(1);
  return ", 1 thread (LibTorch's OpenMP threads parallelise around it)";
}

}  // namespace

std::string tune_blas() {
  const std::string core = blas_core_name();
  if (core.empty()) return "BLAS is not OpenBLAS: left as is";
  return tune_kernels(core) + tune_threads();
}

}  // namespace skintriage
