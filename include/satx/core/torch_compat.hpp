#pragma once
/// The one place where LibTorch versions differ for satx (Debian's 1.13 and the 2.x wheels).
/// Everything else calls these.

#include <torch/version.h>

#include <array>
#include <cstdint>
#include <optional>

#include <c10/core/ScalarType.h>
#include <torch/nn/options/conv.h>

/// LibTorch 2.4 moved autocast to per-device-type calls and deprecated the GPU-only ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SATX_TORCH_AUTOCAST_PER_DEVICE 1
#else
#define SATX_TORCH_AUTOCAST_PER_DEVICE 0
#endif

/// LibTorch 2.6 reads torch.save state dicts with torch::pickle_load (weights_only unpickler);
/// before it, satx's own restricted unpickler does (io/detail/pickle.cpp).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 6)
#define SATX_TORCH_PICKLE_LOADS_STATE_DICTS 1
#else
#define SATX_TORCH_PICKLE_LOADS_STATE_DICTS 0
#endif

namespace satx::compat {

/// CUDA autocast: whether it is on and its dtype.
bool cuda_autocast_enabled();
c10::ScalarType cuda_autocast_dtype();
/// Turns CUDA autocast on (to `dtype`) or off.
void set_cuda_autocast(bool enabled, c10::ScalarType dtype);
/// Drops autocast's cache of cast weights (stale after an optimizer step).
void clear_autocast_cache();
/// Whether the visible CUDA device computes bfloat16 convolutions (Ampere or newer).
bool cuda_supports_bf16();
/// A convolution's explicit zero padding (rows, columns); nullopt for the "same"/"valid"
/// modes or a padding mode other than zeros.
/// LibTorch 1.13 holds it in a c10::variant, 2.x in a std::variant.
std::optional<std::array<int64_t, 2>> conv2d_zero_padding(const torch::nn::detail::ConvNdOptions<2>& options);

}  // namespace satx::compat
