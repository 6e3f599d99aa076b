#include "satx/infer/preprocess.hpp"

#include <torch/nn/functional/upsampling.h>

#include "satx/core/error.hpp"
#include "satx/io/image.hpp"

namespace satx::infer {

Preprocessor::Preprocessor(PreprocessOptions options) : options_(std::move(options)) {
  const auto& mean = options_.mean;
  const auto& stdev = options_.std;
  if (mean.empty() || mean.size() != stdev.size())
    throw_usage("model normalization: mean has " + std::to_string(mean.size()) + " values and std " +
                std::to_string(stdev.size()) + "; they need one per input channel");
  if (options_.input_size <= 0) throw_usage("model input size " + std::to_string(options_.input_size) + " is not positive");
  std::vector<float> scale(mean.size()), shift(mean.size()), unit_scale(mean.size());
  for (size_t c = 0; c < mean.size(); ++c) {
    if (!(stdev[c] > 0)) throw_usage("model normalization: std[" + std::to_string(c) + "] = " + std::to_string(stdev[c]) + " must be positive");
    // (x / 255 - mean) / std as one multiply-add.
    scale[c] = 1.0f / (255.0f * stdev[c]);
    shift[c] = -mean[c] / stdev[c];
    unit_scale[c] = 1.0f / stdev[c];
  }
  const auto channels = static_cast<int64_t>(mean.size());
  scale_ = torch::tensor(scale).view({1, channels, 1, 1}).to(options_.device);
  shift_ = torch::tensor(shift).view({1, channels, 1, 1}).to(options_.device);
  unit_scale_ = torch::tensor(unit_scale).view({1, channels, 1, 1}).to(options_.device);
}

torch::Tensor Preprocessor::normalize(const torch::Tensor& unit_images) const {
  torch::Tensor x = unit_images * unit_scale_ + shift_;
  return options_.channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

torch::Tensor Preprocessor::operator()(const torch::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != scale_.size(1))
    throw_bad_data("preprocessing: expected a [n, " + std::to_string(scale_.size(1)) + ", H, W] batch, got " +
                   std::to_string(images.dim()) + " dims" + (images.dim() > 1 ? " with " + std::to_string(images.size(1)) + " channels" : ""));
  const auto format = options_.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  torch::Tensor x = images.to(options_.device, /*non_blocking=*/true);
  // One conversion pass straight into the wanted layout, then in-place arithmetic.
  x = x.to(torch::TensorOptions().dtype(torch::kFloat), /*non_blocking=*/false, /*copy=*/false, format);
  x.mul_(scale_).add_(shift_);
  const int64_t size = options_.input_size;
  if (x.size(2) != size || x.size(3) != size) {
    namespace F = torch::nn::functional;
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{size, size})
                              .mode(torch::kBilinear)
                              .align_corners(false));
    if (options_.channels_last) x = x.contiguous(format);
  }
  return x;
}

}  // namespace satx::infer
