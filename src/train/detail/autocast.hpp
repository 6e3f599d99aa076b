#pragma once
// Mixed precision on CUDA behind one small interface: LibTorch's C++ autocast API changed
// between 1.13 (set_enabled / set_autocast_gpu_dtype) and 2.4 (per-device-type calls), and
// fp16 needs loss scaling, which LibTorch has no C++ GradScaler for.

#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace satx::train::detail {

// The autocast dtype for `amp` ("auto", "bf16", "fp16", "off") on `device`; nullopt = full
// precision (always on the CPU). Usage error for an unknown value.
std::optional<torch::ScalarType> resolve_amp(const std::string& amp, const torch::Device& device);

// Enables CUDA autocast to `dtype` for its lifetime (no-op when nullopt).
class AutocastScope {
 public:
  explicit AutocastScope(std::optional<torch::ScalarType> dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
};

// Dynamic loss scaling for fp16 (PyTorch GradScaler's policy): scale the loss, skip steps whose
// gradients overflow and halve the scale; double it after `growth_interval` clean steps.
class LossScaler {
 public:
  explicit LossScaler(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  torch::Tensor scale(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  // Unscales the gradients in place; returns false (and backs off) when any is not finite.
  bool unscale_and_check(const std::vector<torch::Tensor>& parameters);
  double current() const { return scale_; }

 private:
  bool enabled_ = false;
  double scale_ = 65536.0;
  int clean_steps_ = 0;
  static constexpr int growth_interval = 2000;
};

}  // namespace satx::train::detail
