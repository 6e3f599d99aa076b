#pragma once
// A minimal pickle reader for the subset torch.save uses for state dicts and checkpoints.
// It never imports or runs anything: globals are names, and calls it does not know become
// opaque objects, so a checkpoint that also pickles (say) an argparse Namespace still loads.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace satx::io::detail {

/// Returns the 1-D tensor of storage `key` (element type `type`, `numel` elements).
using StorageLoader = std::function<torch::Tensor(const std::string& key, torch::ScalarType type, int64_t numel)>;

/// Unpickles `data` and returns the state dict it holds: the root dict's tensor entries, or,
/// when the root is a checkpoint without tensors at the top, the first of its `state_dict`,
/// `model_state_dict`, `model`, `state`, `net` or `module` entries that holds tensors. A
/// `module.` prefix every name shares (DataParallel) is dropped. BadData prefixed by `origin`
/// for malformed pickles, unsupported opcodes and pickles without tensors.
std::vector<std::pair<std::string, torch::Tensor>> unpickle_state_dict(const uint8_t* data, size_t size,
                                                                      const StorageLoader& load_storage,
                                                                      const std::string& origin);

}  // namespace satx::io::detail
