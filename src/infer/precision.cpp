#include "satx/infer/precision.hpp"

#include "satx/core/error.hpp"
#include "satx/core/torch_compat.hpp"

namespace satx::infer {

Precision parse_precision(const std::string& text, const std::string& flag) {
  if (text == "auto") return Precision::Auto;
  if (text == "fp32" || text == "float32" || text == "off") return Precision::Float32;
  if (text == "bf16" || text == "bfloat16") return Precision::BFloat16;
  if (text == "fp16" || text == "float16" || text == "half") return Precision::Float16;
  throw_usage(unknown_value_message(flag, text, {"auto", "fp32", "bf16", "fp16"}));
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::Auto: return "auto";
    case Precision::Float32: return "fp32";
    case Precision::BFloat16: return "bf16";
    case Precision::Float16: return "fp16";
  }
  return "auto";
}

std::optional<torch::ScalarType> resolve_precision(Precision precision, torch::Device device) {
  if (precision == Precision::Float32) return std::nullopt;
  if (!device.is_cuda()) {
    if (precision == Precision::Auto) return std::nullopt;
    throw_usage(std::string("precision ") + precision_name(precision) +
                " needs a CUDA device (satx autocasts on CUDA only); use fp32 or auto on the CPU");
  }
  if (precision == Precision::BFloat16) return torch::kBFloat16;
  if (precision == Precision::Float16) return torch::kHalf;
  return compat::cuda_supports_bf16() ? torch::kBFloat16 : torch::kHalf;
}

AutocastScope::AutocastScope(std::optional<torch::ScalarType> dtype) {
  was_enabled_ = compat::cuda_autocast_enabled();
  was_dtype_ = compat::cuda_autocast_dtype();
  const bool enable = dtype.has_value();
  const torch::ScalarType target = dtype.value_or(was_dtype_);
  if (enable == was_enabled_ && target == was_dtype_) return;
  compat::set_cuda_autocast(enable, target);
  changed_ = true;
}

AutocastScope::~AutocastScope() {
  if (!changed_) return;
  compat::set_cuda_autocast(was_enabled_, was_dtype_);
  // The cast-weight cache holds reduced-precision copies of the weights, stale after a step.
  if (!was_enabled_) compat::clear_autocast_cache();
}

}  // namespace satx::infer
