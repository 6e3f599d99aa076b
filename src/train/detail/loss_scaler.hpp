#pragma once
// Dynamic loss scaling for fp16 training (PyTorch GradScaler's policy), which LibTorch has no
// C++ class for: scale the loss, skip steps whose gradients overflow and halve the scale;
// double it after `growth_interval` clean steps.

#include <vector>

#include <torch/types.h>

namespace satx::train::detail {

class LossScaler {
 public:
  explicit LossScaler(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  torch::Tensor scale(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  // Unscales the gradients in place with fused multi-tensor ops and checks them with one host
  // read; returns false (and backs off) when any is not finite.
  bool unscale_and_check(const std::vector<torch::Tensor>& parameters);
  double current() const { return scale_; }

 private:
  bool enabled_ = false;
  double scale_ = 65536.0;
  int clean_steps_ = 0;
  static constexpr int growth_interval = 2000;
};

}  // namespace satx::train::detail
