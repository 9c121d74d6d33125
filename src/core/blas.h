// Making the BLAS that LibTorch is linked to use kernels that fit the CPU.
//
// Debian's OpenBLAS 0.3.21 is built for many CPUs and picks its kernels at load time from the
// CPU model; a model newer than it knows (e.g. Intel family 6 model 207) falls back to the generic
// "Prescott" SSE3 kernels, and single-precision GEMM runs about 6x slower than with the AVX-512
// "SkylakeX" kernels on the same CPU. LibTorch's matrix products (linear layers, torch::mm, and the
// convolutions it does not hand to oneDNN) go through that BLAS.
//
// Debian's libopenblas0-pthread also runs a thread pool of its own beside LibTorch's OpenMP threads. Its
// threads and OpenMP's busy-wait for work after each call, so with both pools at the core count they
// take the cores from each other: MobileNetV2 batch-1 inference (whose small convolutions ATen runs as
// im2col + BLAS) ran 38 ms per image with both at 2 threads and 10 ms with OpenBLAS at 1, on 2 cores
// (docs/performance.md). LibTorch parallelises around its BLAS calls itself, so one BLAS thread is the
// right setting for this process. Torch-free.
#pragma once
#include <string>

namespace skintriage {

/// When the process's BLAS is OpenBLAS: (1) if it runs its generic fallback kernels on a CPU with AVX-512
/// (or AVX2+FMA), re-initialises it with the matching kernels ("SkylakeX" / "Haswell"), unless
/// OPENBLAS_CORETYPE is set (the user's choice wins) or OpenBLAS recognised the CPU; (2) sets its own
/// thread pool to one thread, unless OPENBLAS_NUM_THREADS or GOTO_NUM_THREADS is set. Does nothing for
/// another BLAS. Call once at the start of main, before any BLAS call and before other threads start.
/// Returns a one-line description (e.g. "OpenBLAS core Prescott -> SkylakeX, 1 thread (...)").
std::string tune_blas();

/// OpenBLAS's current kernel set ("SkylakeX", "Prescott", ...), "" when the BLAS is not OpenBLAS.
std::string blas_core_name();

}  // namespace skintriage
