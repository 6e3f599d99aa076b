#include "train/detail/autocast.hpp"

#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "satx/core/error.hpp"

// LibTorch 2.4 moved autocast to per-device-type calls and deprecated the GPU-only ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SATX_AUTOCAST_PER_DEVICE 1
#else
#define SATX_AUTOCAST_PER_DEVICE 0
#endif

namespace satx::train::detail {

std::optional<torch::ScalarType> resolve_amp(const std::string& amp, const torch::Device& device) {
  if (amp != "auto" && amp != "bf16" && amp != "fp16" && amp != "off")
    throw_usage(unknown_value_message("-amp", amp, {"auto", "bf16", "fp16", "off"}));
  if (!device.is_cuda() || amp == "off") return std::nullopt;
  if (amp == "fp16") return torch::kHalf;
  if (amp == "bf16") return torch::kBFloat16;
  // bf16 needs Ampere or newer (the same test torch.cuda.is_bf16_supported makes); fp16 elsewhere.
  return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8() ? torch::kBFloat16 : torch::kHalf;
}

AutocastScope::AutocastScope(std::optional<torch::ScalarType> dtype) {
  if (!dtype) return;
  active_ = true;
#if SATX_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_dtype(at::kCUDA, *dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  at::autocast::set_autocast_gpu_dtype(*dtype);
  at::autocast::set_enabled(true);
#endif
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
#if SATX_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
  at::autocast::set_enabled(false);
#endif
  // The cast-weight cache holds half-precision copies of the weights; they are stale after a step.
  at::autocast::clear_cache();
}

bool LossScaler::unscale_and_check(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return true;
  bool finite = true;
  for (const auto& p : parameters) {
    auto grad = p.grad();
    if (!grad.defined()) continue;
    grad.mul_(1.0 / scale_);
    if (finite && !torch::isfinite(grad).all().item<bool>()) finite = false;
  }
  if (!finite) {
    scale_ = std::max(1.0, scale_ * 0.5);
    clean_steps_ = 0;
    return false;
  }
  if (++clean_steps_ >= growth_interval) {
    scale_ *= 2.0;
    clean_steps_ = 0;
  }
  return true;
}

}  // namespace satx::train::detail
