#include "serve/thread_share.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>

namespace skintriage {
namespace {

// omp_set_num_threads of the OpenMP runtime LibTorch loaded (found at run time, as core/blas.cpp finds
// OpenBLAS, so this module needs no OpenMP flags of its own); nullptr without one.
using SetThreads = void (*)(int);
SetThreads omp_set_threads() {
  static const SetThreads fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  return fn;
}

}  // namespace

int intra_op_threads() { return at::get_num_threads(); }

int thread_share(int total, int concurrent) { return std::max(1, total / std::max(1, concurrent)); }

ScopedIntraOpThreads::ScopedIntraOpThreads(int threads) {
  SetThreads set = omp_set_threads();
  if (threads <= 0 || set == nullptr) return;
  // at::get_num_threads() first: a thread's first call initialises its count from the process default,
  // which would otherwise overwrite the one set here.
  int current = at::get_num_threads();
  if (current == threads) return;
  previous_ = current;
  set(threads);
}

ScopedIntraOpThreads::~ScopedIntraOpThreads() {
  if (previous_ > 0) omp_set_threads()(previous_);
}

}  // namespace skintriage
