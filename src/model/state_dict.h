// Reading and writing PyTorch state dicts (.pth) from C++, and loading them into modules.
//
// torch.save() files are zip archives holding a pickle (`data.pkl`) plus one raw storage per
// tensor. torchvision's downloads pickle an OrderedDict with a `_metadata` attribute, which
// LibTorch 1.13's pickle_load rejects; this module has its own small unpickler for the subset
// torch.save emits, so plain dicts, OrderedDicts and the project's own checkpoints all load.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace skintriage {

/// Name -> tensor, in file order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Loads a .pth state dict; InputError naming the file for anything it cannot read.
StateDict load_state_dict(const std::string& path);

/// Writes a state dict atomically in torch.save's zip format (readable by Python's torch.load).
void save_state_dict(const std::string& path, const StateDict& state);

/// The module's parameters and buffers by name, in registration order.
StateDict module_state(const torch::nn::Module& module);

struct LoadOptions {
  bool strict = true;                             ///< missing / unexpected tensors are errors
  std::vector<std::string> skip_prefixes;         ///< names starting with these are ignored both ways
};

/// Copies tensors into the module's parameters/buffers by name. Every missing, unexpected or
/// wrong-shaped tensor is listed in one InputError naming `source`.
void load_into(torch::nn::Module& module, const StateDict& state, const LoadOptions& options,
               const std::string& source);

/// Guesses the torchvision architecture of a state dict from its names and shapes ("" if none).
std::string detect_architecture(const StateDict& state);

}  // namespace skintriage
