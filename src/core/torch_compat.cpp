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

}  // namespace satx::compat
