#pragma once
/// Xception with timm's legacy module tree (the Keras port whose names timm's ImageNet weights
/// use): `conv1`, `bn1`, `conv2`, `bn2`, `block1`..`block12` (`rep.N`, `skip`, `skipbn`),
/// `conv3`/`conv4` (separable: `conv1` depthwise + `pointwise`), `bn3`, `bn4`, `fc`.

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "satx/models/network.hpp"

namespace satx::models {

/// A 3x3 depthwise convolution (`conv1`, stride 1, padding 1) then a 1x1 `pointwise` one,
/// both without bias.
class SeparableConv2dImpl : public torch::nn::Module {
 public:
  SeparableConv2dImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(torch::Tensor input);

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::Conv2d pointwise{nullptr};
};
TORCH_MODULE(SeparableConv2d);

/// How to build one Xception block (timm legacy `Block`).
struct XceptionBlockOptions {
  XceptionBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Number of ReLU + SeparableConv2d + BatchNorm2d repetitions.
  TORCH_ARG(int64_t, reps) = 2;
  /// Stride != 1 appends MaxPool2d(3, stride, 1) and gives the 1x1 `skip` that stride.
  TORCH_ARG(int64_t, stride) = 1;
  /// False drops the leading ReLU (block1, which follows the stem's ReLU).
  TORCH_ARG(bool, start_with_relu) = true;
  /// True widens in the first repetition, false in the last (block12).
  TORCH_ARG(bool, grow_first) = true;
};

/// `rep` (a Sequential whose indices count the parameter-free ReLU and MaxPool slots, as
/// timm's) plus a shortcut: identity, or `skip` (1x1 conv) + `skipbn` when the shape changes.
class XceptionBlockImpl : public torch::nn::Module {
 public:
  explicit XceptionBlockImpl(const XceptionBlockOptions& options);
  torch::Tensor forward(torch::Tensor input);

  torch::nn::Conv2d skip{nullptr};
  torch::nn::BatchNorm2d skipbn{nullptr};
  torch::nn::Sequential rep{nullptr};
};
TORCH_MODULE(XceptionBlock);

/// Xception (299 px default): stem conv1/bn1/conv2/bn2 (unpadded 3x3), entry blocks 1-3,
/// middle blocks 4-11, exit block 12, separable conv3/bn3 and conv4/bn4 (each + ReLU),
/// global average pool, `fc`.
class Xception final : public Network {
 public:
  Xception(Manifest manifest, const NetworkOptions& options);

  torch::Tensor forward(torch::Tensor input) override;
  /// Pooled after conv4/bn4/ReLU: [N, 2048].
  torch::Tensor forward_features(torch::Tensor input) override;
  torch::Tensor forward_head(torch::Tensor features) override;
  /// The last map at each resolution, named after timm's modules: "act2", "block1",
  /// "block2", "block11", "act4" (strides 2, 4, 8, 16, 32).
  std::vector<std::pair<std::string, torch::Tensor>> forward_stages(torch::Tensor input) override;
  /// A new `fc` with LibTorch's default Linear initialization (as timm leaves it).
  void replace_head(int64_t num_classes) override;
  std::vector<torch::Tensor> head_parameters() override;
  const Manifest& manifest() const override { return manifest_; }
  int64_t num_classes() const override { return fc->options.out_features(); }
  int64_t in_channels() const override { return conv1->options.in_channels(); }
  std::string input_conv_weight() const override { return "conv1.weight"; }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr}, bn4{nullptr};
  std::vector<XceptionBlock> blocks;  ///< block1..block12
  SeparableConv2d conv3{nullptr}, conv4{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  torch::Tensor stem(torch::Tensor input);
  torch::Tensor exit_flow(torch::Tensor maps);

  Manifest manifest_;
};

}  // namespace satx::models
