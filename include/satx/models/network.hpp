#pragma once
/// The common interface of satx backbones (ResNet50, MobileNetV2, Xception) with their head.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "satx/models/registry.hpp"

namespace satx::models {

/// How to build a network.
struct NetworkOptions {
  /// Classes of the classification head (1000 for ImageNet weights).
  int64_t num_classes = 1000;
  /// Input channels; != 3 builds a first convolution of that width (see adapt_input_channels).
  int64_t in_channels = 3;
};

/// A backbone plus its classification head, with parameter names exactly as the published
/// state dicts (torchvision for resnet50/mobilenetv2, timm legacy for xception).
class Network : public torch::nn::Module {
 public:
  /// Logits, [N, num_classes], from normalized float input [N, C, H, W].
  virtual torch::Tensor forward(torch::Tensor input) = 0;
  /// Globally pooled features, [N, feature_dim].
  virtual torch::Tensor forward_features(torch::Tensor input) = 0;
  /// Logits from pooled features (dropout included in training mode where the arch has it).
  virtual torch::Tensor forward_head(torch::Tensor features) = 0;
  /// Named intermediate feature maps, input to output (e.g. "layer1".."layer4").
  virtual std::vector<std::pair<std::string, torch::Tensor>> forward_stages(torch::Tensor input) = 0;
  /// Replaces the head by a freshly initialized one with `num_classes` outputs.
  virtual void replace_head(int64_t num_classes) = 0;
  /// The head's parameters (what phase 1 trains).
  virtual std::vector<torch::Tensor> head_parameters() = 0;
  /// The manifest this network was built from.
  virtual const Manifest& manifest() const = 0;
  /// Current number of classes.
  virtual int64_t num_classes() const = 0;
  /// Input channels of the first convolution.
  virtual int64_t in_channels() const = 0;
  /// State-dict name of the first convolution's weight ("conv1.weight", "features.0.0.weight"),
  /// the tensor adapt_input_channels rewrites when loading RGB weights into a C != 3 network.
  virtual std::string input_conv_weight() const = 0;
};

/// One state-dict entry: a parameter or buffer under its dotted name.
using NamedTensor = std::pair<std::string, torch::Tensor>;

/// Parameters and buffers in PyTorch's state_dict order (each module's own parameters, then
/// its own buffers, then its children in registration order), the order the published files
/// and ../golden list. Entries share storage with the module.
std::vector<NamedTensor> state_entries(const torch::nn::Module& module);

/// Builds `arch` (name or alias; Usage error naming it when unknown) with random weights.
std::shared_ptr<Network> create_network(const std::string& arch, const NetworkOptions& options = {});

/// Adapts an RGB first-convolution kernel [O, 3, k, k] to `in_channels` inputs: each new
/// channel gets the mean of the RGB kernels, scaled by 3 / in_channels so the expected
/// activation for inputs of similar statistics is unchanged (docs/models.md).
torch::Tensor adapt_input_channels(const torch::Tensor& rgb_kernel, int64_t in_channels);

/// Trainable parameter count.
int64_t count_parameters(torch::nn::Module& module);

/// Stores the 4-D weights (convolution kernels) of `module` channels-last, the layout oneDNN on
/// CPU and tensor cores on CUDA run fastest; what the network computes is unchanged.
void to_channels_last(torch::nn::Module& module);

/// For stage-wise freezing and discriminative learning rates: the index into
/// manifest().stages of the stage a parameter name belongs to (-1 when none matches).
int stage_of(const Manifest& manifest, const std::string& parameter_name);

}  // namespace satx::models
