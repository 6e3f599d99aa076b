#pragma once
/// ResNet-50 with torchvision's module tree, so its state dict is torchvision's
/// (`conv1.weight`, `layer1.0.downsample.1.running_var`, `fc.bias`, ...).

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "satx/models/network.hpp"

namespace satx::models {

/// How to build one torchvision Bottleneck.
struct BottleneckOptions {
  BottleneckOptions(int64_t in_channels, int64_t width) : in_channels_(in_channels), width_(width) {}
  /// Channels entering the block.
  TORCH_ARG(int64_t, in_channels);
  /// Width of the 1x1 and 3x3 convolutions; the block outputs 4 * width channels.
  TORCH_ARG(int64_t, width);
  /// Stride of the 3x3 convolution (ResNet v1.5, as torchvision).
  TORCH_ARG(int64_t, stride) = 1;
};

/// 1x1 -> 3x3 -> 1x1 residual block; `downsample` (1x1 conv + BN) projects the shortcut when
/// the stride or width changes, otherwise it is empty and absent from the state dict.
class BottleneckImpl : public torch::nn::Module {
 public:
  explicit BottleneckImpl(const BottleneckOptions& options);
  torch::Tensor forward(torch::Tensor input);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

/// ResNet-50: conv1/bn1 stem, max pool, layer1..layer4 (3, 4, 6, 3 bottlenecks), global
/// average pool, `fc`.
class ResNet50 final : public Network {
 public:
  ResNet50(Manifest manifest, const NetworkOptions& options);

  torch::Tensor forward(torch::Tensor input) override;
  torch::Tensor forward_features(torch::Tensor input) override;
  torch::Tensor forward_head(torch::Tensor features) override;
  /// "layer1".."layer4" (strides 4, 8, 16, 32).
  std::vector<std::pair<std::string, torch::Tensor>> forward_stages(torch::Tensor input) override;
  /// A new `fc` with LibTorch's default Linear initialization (as torchvision leaves it).
  void replace_head(int64_t num_classes) override;
  std::vector<torch::Tensor> head_parameters() override;
  const Manifest& manifest() const override { return manifest_; }
  int64_t num_classes() const override { return fc->options.out_features(); }
  int64_t in_channels() const override { return conv1->options.in_channels(); }
  std::string input_conv_weight() const override { return "conv1.weight"; }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  torch::Tensor stem(torch::Tensor input);

  Manifest manifest_;
};

}  // namespace satx::models
