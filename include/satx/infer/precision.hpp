#pragma once
/// The one precision rule for every forward pass satx makes (training, validation, eval,
/// predict): the network's weights stay float32 and CUDA autocast computes in bf16 or fp16.

#include <optional>
#include <string>

#include <torch/types.h>

namespace satx::infer {

/// How a forward pass computes.
enum class Precision {
  Auto,      ///< bf16 on a CUDA device that supports it, fp16 on older CUDA devices, fp32 on CPU
  Float32,   ///< full precision
  BFloat16,  ///< bf16 autocast (CUDA)
  Float16,   ///< fp16 autocast (CUDA; training adds loss scaling)
};

/// "auto", "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16"/"half"; a Usage error naming
/// `flag` and the choices otherwise.
Precision parse_precision(const std::string& text, const std::string& flag = "-precision");
/// "auto", "fp32", "bf16" or "fp16".
const char* precision_name(Precision precision);

/// The autocast dtype `precision` means on `device`; nullopt = float32 (always on the CPU: satx
/// autocasts on CUDA only). Usage error for bf16/fp16 asked for on a CPU.
std::optional<torch::ScalarType> resolve_precision(Precision precision, torch::Device device);

/// Turns CUDA autocast to `dtype` on for its lifetime (nullopt: off) and restores the previous
/// state when it ends, so scopes nest.
class AutocastScope {
 public:
  explicit AutocastScope(std::optional<torch::ScalarType> dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool was_enabled_ = false;
  torch::ScalarType was_dtype_ = torch::kHalf;
  bool changed_ = false;
};

}  // namespace satx::infer
