#pragma once
/// Building blocks and conventions the three backbones share (private to src/models).

#include <string>
#include <utility>
#include <vector>

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "satx/models/network.hpp"

namespace satx::models::detail {

/// How a freshly built classification head is initialized.
enum class HeadInit {
  Default,     ///< LibTorch's (= PyTorch's) Linear default: kaiming_uniform(a=sqrt(5)), uniform bias
  Normal001,   ///< torchvision MobileNetV2: weight ~ N(0, 0.01), bias 0
};

/// A bias-free convolution; padding defaults to torchvision's (kernel - 1) / 2.
torch::nn::Conv2d conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
                         int64_t groups = 1, int64_t padding = -1);

/// torchvision/timm initialization for training from scratch: every Conv2d kaiming-normal
/// (fan_out, ReLU gain) with zero bias, every BatchNorm2d weight 1 and bias 0, and Linear layers
/// as `head_init` says.
void init_backbone(torch::nn::Module& module, HeadInit head_init);

/// A new Linear(in_features, num_classes), initialized per `head_init`, on the device and
/// dtype of `like` (so a head replaced after `to(cuda)` lives where the backbone does).
torch::nn::Linear make_head(int64_t in_features, int64_t num_classes, HeadInit head_init, const torch::Tensor& like);

/// Validates NetworkOptions with messages that name the bad value.
void check_options(const NetworkOptions& options, const std::string& arch);

/// Global average pool to [N, C]; works for any memory format without a copy of the maps.
torch::Tensor global_average_pool(const torch::Tensor& maps);

/// True when `name` is `prefix` or starts with `prefix` followed by '.'.
bool has_dotted_prefix(const std::string& name, const std::string& prefix);

/// Keeps, from a sequence of named feature maps, the last map at each spatial size: the
/// deepest representation at each resolution, as forward_stages reports them.
class LastPerResolution {
 public:
  void add(std::string name, torch::Tensor maps);
  std::vector<std::pair<std::string, torch::Tensor>> take();

 private:
  std::vector<std::pair<std::string, torch::Tensor>> kept_;
};

}  // namespace satx::models::detail
