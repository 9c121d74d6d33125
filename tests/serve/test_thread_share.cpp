// Per-prediction intra-op threads: the share rule, and that the setting stays on its own thread.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "serve/thread_share.h"

using namespace skintriage;

TEST(ThreadShare, SplitsTheThreadsAmongConcurrentPredictions) {
  EXPECT_EQ(thread_share(2, 1), 2);
  EXPECT_EQ(thread_share(2, 2), 1);
  EXPECT_EQ(thread_share(2, 5), 1);
  EXPECT_EQ(thread_share(8, 3), 2);
  EXPECT_EQ(thread_share(4, 0), 4);
  EXPECT_EQ(thread_share(1, 4), 1);
}

TEST(ThreadShare, ScopedCountHoldsOnItsThreadOnlyAndIsRestored) {
  const int main_threads = intra_op_threads();
  const int other = main_threads == 1 ? 2 : 1;
  std::mutex mu;
  std::condition_variable cv;
  bool set = false, checked = false;
  int inside = 0, before = 0, after = 0;
  std::thread t([&] {
    before = intra_op_threads();
    {
      ScopedIntraOpThreads scoped(other);
      inside = intra_op_threads();
      std::unique_lock<std::mutex> lock(mu);
      set = true;
      cv.notify_all();
      cv.wait(lock, [&] { return checked; });
    }
    after = intra_op_threads();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return set; });
    EXPECT_EQ(intra_op_threads(), main_threads);  // the other thread's setting does not leak here
    checked = true;
    cv.notify_all();
  }
  t.join();
  EXPECT_EQ(before, main_threads);  // a new thread starts from the process setting
  EXPECT_EQ(inside, other);
  EXPECT_EQ(after, before);
  {
    ScopedIntraOpThreads unchanged(0);
    EXPECT_EQ(intra_op_threads(), main_threads);
  }
}
