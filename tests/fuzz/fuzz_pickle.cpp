// libFuzzer target: the restricted unpickler behind .pth imports must refuse hostile pickles
// with satx::Error and nothing else (no crash, no unbounded memory), and never run code.
#include <cstddef>
#include <cstdint>

#include <torch/torch.h>

#include "io/detail/pickle.hpp"
#include "satx/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Storages exist in any size a real archive could hold; beyond that the archive reader refuses.
  satx::io::detail::StorageLoader load = [](const std::string&, torch::ScalarType type, int64_t numel) {
    if (numel > (1 << 16)) satx::throw_bad_data("storage too large for the fuzz loader");
    return torch::zeros({numel}, torch::TensorOptions().dtype(type));
  };
  try {
    const auto tensors = satx::io::detail::unpickle_state_dict(data, size, load, "fuzz");
    for (const auto& [name, tensor] : tensors)
      if (!tensor.defined()) __builtin_trap();  // an accepted state dict holds real tensors
  } catch (const satx::Error&) {
  }
  return 0;
}
