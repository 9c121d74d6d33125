// Making the C library's allocator keep the large blocks that tensors are made of.
//
// Every LibTorch op on the CPU allocates its output with posix_memalign. glibc serves blocks above its
// mmap threshold (128 KiB, rising to at most 32 MiB) with a fresh mmap and returns them with munmap
// on free, and it gives the top of the heap back to the kernel once more than 128 KiB is free there.
// A network's activations are megabytes each, so in eager mode every layer's output arrives as new
// pages that the kernel must fault in and zero: measured here (MobileNetV2, batch 32, 2 cores) half of
// the forward time went to page faults, and batch-32 feature extraction ran 3.4x faster once freed
// blocks were kept for reuse (docs/performance.md). The cost is that the process's resident memory
// stays at its peak instead of shrinking between batches. Torch-free.
#pragma once
#include <string>

namespace skintriage {

/// With glibc: serve every block from the heap (no per-block mmap) and never trim it, so freed tensor
/// memory is reused by the next op instead of being returned to the kernel and faulted in again.
/// Does nothing when the user set any of glibc's MALLOC_MMAP_MAX_, MALLOC_MMAP_THRESHOLD_ or
/// MALLOC_TRIM_THRESHOLD_ (their choice wins) or SKINTRIAGE_MALLOC=system, or with another C library.
/// Call once at the start of main, before large allocations. Returns a one-line description.
std::string tune_allocator();

}  // namespace skintriage
