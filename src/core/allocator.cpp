#include "core/allocator.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace skintriage {

std::string tune_allocator() {
#if defined(__GLIBC__)
  for (const char* user : {"MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"})
    if (std::getenv(user) != nullptr) return std::string("glibc malloc as set by ") + user;
  if (const char* mode = std::getenv("SKINTRIAGE_MALLOC"); mode != nullptr && std::strcmp(mode, "system") == 0)
    return "glibc malloc defaults (SKINTRIAGE_MALLOC=system)";
  // M_MMAP_MAX 0: no block gets its own mapping. M_TRIM_THRESHOLD at its largest: free heap stays mapped.
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1;
  return ok ? "glibc malloc keeps freed blocks (no mmap per block, no trim)" : "glibc malloc defaults (mallopt failed)";
#else
  return "C library allocator defaults";
#endif
}

}  // namespace skintriage
