// Process tuning done first thing by the CLI: the allocator keeps freed blocks, OpenBLAS runs fitting kernels on
// one thread of its own; users' environment variables win over both.
#include <gtest/gtest.h>

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "core/allocator.h"
#include "test_util.h"

using namespace skintriage;

TEST(Tuning, AllocatorServesLargeBlocksFromTheHeap) {
  unsetenv("SKINTRIAGE_MALLOC");
  const std::string how = tune_allocator();
  ASSERT_NE(how.find("keeps freed blocks"), std::string::npos) << how;
  // glibc's default maps a 64 MiB block on its own (one more mmapped block while it is held); tuned, it
  // comes from the heap, and after free the memory stays there for the next block of that size.
  const size_t size = 64u << 20;
  const size_t mapped_before = mallinfo2().hblks;
  void* p = std::malloc(size);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, size);
  EXPECT_EQ(mallinfo2().hblks, mapped_before);
  std::free(p);
  EXPECT_GE(mallinfo2().fordblks, size);  // kept as free heap memory, not trimmed
}

TEST(Tuning, VersionReportsTuningAndUserSettingsWin) {
  std::string out;
  ASSERT_EQ(testutil::run_command(testutil::cli_binary() + " --version", out), 0) << out;
  EXPECT_NE(out.find("allocator glibc malloc keeps freed blocks"), std::string::npos) << out;
  EXPECT_NE(out.find("BLAS tuning OpenBLAS core"), std::string::npos) << out;
  EXPECT_NE(out.find("1 thread"), std::string::npos) << out;
  ASSERT_EQ(testutil::run_command("SKINTRIAGE_MALLOC=system OPENBLAS_NUM_THREADS=2 " + testutil::cli_binary() +
                                      " --version",
                                  out),
            0)
      << out;
  EXPECT_NE(out.find("allocator glibc malloc defaults (SKINTRIAGE_MALLOC=system)"), std::string::npos) << out;
  EXPECT_NE(out.find("threads as set by OPENBLAS_NUM_THREADS"), std::string::npos) << out;
  ASSERT_EQ(testutil::run_command("MALLOC_TRIM_THRESHOLD_=1000000 " + testutil::cli_binary() + " --version", out), 0);
  EXPECT_NE(out.find("as set by MALLOC_TRIM_THRESHOLD_"), std::string::npos) << out;
}
