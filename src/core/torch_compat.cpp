#include "satx/core/torch_compat.hpp"

#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>

namespace satx::compat {

bool cuda_autocast_enabled() {
#if SATX_TORCH_AUTOCAST_PER_DEVICE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

c10::ScalarType cuda_autocast_dtype() {
#if SATX_TORCH_AUTOCAST_PER_DEVICE
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

void set_cuda_autocast(bool enabled, c10::ScalarType dtype) {
#if SATX_TORCH_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
#else
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(enabled);
#endif
}

void clear_autocast_cache() { at::autocast::clear_cache(); }

bool cuda_supports_bf16() {
  // The test torch.cuda.is_bf16_supported makes.
  return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8();
}

std::optional<std::array<int64_t, 2>> conv2d_zero_padding(const torch::nn::detail::ConvNdOptions<2>& options) {
#if TORCH_VERSION_MAJOR < 2
  const auto* explicit_padding = c10::get_if<torch::ExpandingArray<2>>(&options.padding());
  const bool zeros = c10::get_if<torch::enumtype::kZeros>(&options.padding_mode()) != nullptr;
#else
  const auto* explicit_padding = std::get_if<torch::ExpandingArray<2>>(&options.padding());
  const bool zeros = std::holds_alternative<torch::enumtype::kZeros>(options.padding_mode());
#endif
  if (explicit_padding == nullptr || !zeros) return std::nullopt;
  return std::array<int64_t, 2>{(**explicit_padding)[0], (**explicit_padding)[1]};
}

}  // namespace satx::compat
