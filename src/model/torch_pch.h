// Precompiled header for every target that uses LibTorch. Only torch targets include it.
#pragma once
#include <torch/torch.h>
