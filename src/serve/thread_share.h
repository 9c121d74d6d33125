// Intra-op threads per prediction when several run at once.
//
// LibTorch's OpenMP backend gives every thread that calls into it a team of `at::get_num_threads()`
// threads. Two predictions running together on 2 cores therefore run 4 spinning threads, and both get
// slower than if each had one (measured: the server's load test, 8 clients on 2 workers, 38-42 requests/s
// with 2 threads per prediction against 56-58 with 1). A prediction alone should still use every core.
// OpenMP's thread count is a per-thread setting, so the server sets it on the thread that runs a
// prediction, for that prediction only, from how many are in the system when it starts.
#pragma once

namespace skintriage {

/// The intra-op thread count the calling thread would use now (at::get_num_threads()).
int intra_op_threads();

/// Threads for one of `concurrent` predictions sharing `total`: max(1, total / concurrent).
int thread_share(int total, int concurrent);

/// Sets the calling thread's intra-op thread count while it lives, then restores it. Other threads,
/// and the process-wide default new threads start from, are unaffected. `threads` <= 0 changes nothing.
class ScopedIntraOpThreads {
 public:
  explicit ScopedIntraOpThreads(int threads);
  ~ScopedIntraOpThreads();
  ScopedIntraOpThreads(const ScopedIntraOpThreads&) = delete;
  ScopedIntraOpThreads& operator=(const ScopedIntraOpThreads&) = delete;

 private:
  int previous_ = 0;  // 0: nothing to restore
};

}  // namespace skintriage
