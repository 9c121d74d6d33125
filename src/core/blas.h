// Making the BLAS that LibTorch is linked to use kernels that fit the CPU.
//
// Debian's OpenBLAS 0.3.21 is built for many CPUs and picks its kernels at load time from the
// CPU model; a model newer than it knows (e.g. Intel family 6 model 207) falls back to the generic
// "Prescott" SSE3 kernels, and single-precision GEMM runs about 6x slower than with the AVX-512
// "SkylakeX" kernels on the same CPU. LibTorch's matrix products (linear layers, torch::mm, and the
// convolutions it does not hand to oneDNN) go through that BLAS. Torch-free.
#pragma once
#include <string>

namespace skintriage {

/// When the process's BLAS is OpenBLAS running its generic fallback kernels on a CPU with AVX-512
/// (or AVX2+FMA), re-initialises it with the matching kernels ("SkylakeX" / "Haswell"). Does
/// nothing when the BLAS is not OpenBLAS, when OPENBLAS_CORETYPE is set (the user's choice wins) or
/// when OpenBLAS recognised the CPU. Call once at the start of main, before any BLAS call and before
/// other threads start. Returns a one-line description (e.g. "OpenBLAS core Prescott -> SkylakeX").
std::string tune_blas();

/// OpenBLAS's current kernel set ("SkylakeX", "Prescott", ...), "" when the BLAS is not OpenBLAS.
std::string blas_core_name();

}  // namespace skintriage
