#include "train/detail/loss_scaler.hpp"

#include <algorithm>

#include <torch/torch.h>

namespace satx::train::detail {

bool LossScaler::unscale_and_check(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return true;
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  bool finite = true;
  if (!grads.empty()) {
    torch::_foreach_mul_(grads, 1.0 / scale_);
    // A non-finite gradient makes its norm non-finite: one fused pass and one read for all of them.
    finite = torch::stack(torch::_foreach_norm(grads)).isfinite().all().item<bool>();
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
