#pragma once
/// MobileNetV2 (width 1.0) with torchvision's module tree, so its state dict is torchvision's
/// (`features.0.0.weight`, `features.17.conv.2.weight`, `classifier.1.bias`, ...).

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "satx/models/network.hpp"

namespace satx::models {

/// How to build a convolution + BatchNorm + ReLU6 unit (torchvision's Conv2dNormActivation).
struct ConvNormReLU6Options {
  ConvNormReLU6Options(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Square kernel size; padding is (kernel - 1) / 2.
  TORCH_ARG(int64_t, kernel) = 3;
  TORCH_ARG(int64_t, stride) = 1;
  /// Convolution groups (in_channels for a depthwise convolution).
  TORCH_ARG(int64_t, groups) = 1;
};

/// Children "0" (Conv2d, no bias) and "1" (BatchNorm2d); the ReLU6 ("2" in torchvision)
/// holds no state and runs in place in forward.
class ConvNormReLU6Impl : public torch::nn::Module {
 public:
  explicit ConvNormReLU6Impl(const ConvNormReLU6Options& options);
  torch::Tensor forward(torch::Tensor input);

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d norm{nullptr};
};
TORCH_MODULE(ConvNormReLU6);

/// How to build one inverted residual block.
struct InvertedResidualOptions {
  InvertedResidualOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Stride of the depthwise convolution (1 or 2).
  TORCH_ARG(int64_t, stride) = 1;
  /// Hidden width = in_channels * expand_ratio; 1 drops the 1x1 expansion.
  TORCH_ARG(int64_t, expand_ratio) = 6;
};

/// `conv`: [expand 1x1 ConvNormReLU6,] depthwise 3x3 ConvNormReLU6, linear 1x1 Conv2d,
/// BatchNorm2d; a residual connection when stride is 1 and the width is unchanged.
class InvertedResidualImpl : public torch::nn::Module {
 public:
  explicit InvertedResidualImpl(const InvertedResidualOptions& options);
  torch::Tensor forward(torch::Tensor input);
  /// Whether the block adds its input to its output (stride 1, width unchanged).
  bool residual() const { return residual_; }

  torch::nn::Sequential conv{nullptr};

 private:
  bool residual_ = false;
};
TORCH_MODULE(InvertedResidual);

/// MobileNetV2: `features` (0: stem ConvNormReLU6, 1..17: inverted residuals, 18: 1x1
/// ConvNormReLU6 to 1280), global average pool, `classifier` (0: Dropout(0.2), 1: Linear).
class MobileNetV2 final : public Network {
 public:
  MobileNetV2(Manifest manifest, const NetworkOptions& options);

  torch::Tensor forward(torch::Tensor input) override;
  torch::Tensor forward_features(torch::Tensor input) override;
  /// Dropout(0.2) (training mode only) then the Linear.
  torch::Tensor forward_head(torch::Tensor features) override;
  /// The last map at each resolution: "features.1", "features.3", "features.6",
  /// "features.13", "features.18" (strides 2, 4, 8, 16, 32).
  std::vector<std::pair<std::string, torch::Tensor>> forward_stages(torch::Tensor input) override;
  /// A new `classifier.1`, initialized as torchvision does: weight ~ N(0, 0.01), bias 0.
  void replace_head(int64_t num_classes) override;
  std::vector<torch::Tensor> head_parameters() override;
  const Manifest& manifest() const override { return manifest_; }
  int64_t num_classes() const override { return head->options.out_features(); }
  int64_t in_channels() const override { return in_channels_; }
  std::string input_conv_weight() const override { return "features.0.0.weight"; }

  torch::nn::Sequential features{nullptr};
  torch::nn::Sequential classifier{nullptr};
  torch::nn::Dropout dropout{nullptr};  ///< classifier.0
  torch::nn::Linear head{nullptr};      ///< classifier.1

 private:
  Manifest manifest_;
  int64_t in_channels_ = 3;
};

}  // namespace satx::models
