// Shared helpers of the model tests: the Python oracle's fixture folder (generated once per
// test process) and small tensor utilities.
#pragma once
#include <torch/torch.h>

#include <string>

#include "model/state_dict.h"

namespace skintriage::testutil {

/// Folder with the oracle's fixtures (model_oracle.py make), "" when python/torchvision are unavailable.
const std::string& oracle_dir();
/// Path of tests/tools/model_oracle.py.
std::string oracle_script();
/// The tensor called `name` in a state dict (undefined when absent).
torch::Tensor find_tensor(const StateDict& sd, const std::string& name);
/// Max |a - b| (a and b of the same shape).
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace skintriage::testutil
