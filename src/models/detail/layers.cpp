#include "models/detail/layers.hpp"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>

#include "satx/core/error.hpp"

namespace satx::models::detail {

torch::nn::Conv2d conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride, int64_t groups,
                         int64_t padding) {
  if (padding < 0) padding = (kernel - 1) / 2;
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel)
                               .stride(stride)
                               .padding(padding)
                               .groups(groups)
                               .bias(false));
}

namespace {

void init_linear(torch::nn::LinearImpl& linear, HeadInit head_init) {
  torch::NoGradGuard no_grad;
  switch (head_init) {
    case HeadInit::Default:
      linear.reset_parameters();
      break;
    case HeadInit::Normal001:
      torch::nn::init::normal_(linear.weight, 0.0, 0.01);
      if (linear.bias.defined()) torch::nn::init::zeros_(linear.bias);
      break;
  }
}

}  // namespace

void init_backbone(torch::nn::Module& module, HeadInit head_init) {
  torch::NoGradGuard no_grad;
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto* conv = child->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) torch::nn::init::zeros_(conv->bias);
    } else if (auto* norm = child->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(norm->weight);
      torch::nn::init::zeros_(norm->bias);
    } else if (auto* linear = child->as<torch::nn::Linear>()) {
      init_linear(*linear, head_init);
    }
  }
}

torch::nn::Linear make_head(int64_t in_features, int64_t num_classes, HeadInit head_init, const torch::Tensor& like) {
  torch::nn::Linear head(in_features, num_classes);
  init_linear(*head, head_init);
  if (like.defined()) head->to(like.device(), like.scalar_type());
  return head;
}

void check_options(const NetworkOptions& options, const std::string& arch) {
  if (options.num_classes < 1)
    throw_usage(arch + ": num_classes must be at least 1, got " + std::to_string(options.num_classes));
  if (options.in_channels < 1)
    throw_usage(arch + ": in_channels must be at least 1, got " + std::to_string(options.in_channels));
}

torch::Tensor global_average_pool(const torch::Tensor& maps) {
  return torch::nn::functional::adaptive_avg_pool2d(maps, torch::nn::functional::AdaptiveAvgPool2dFuncOptions(1))
      .flatten(1);
}

bool has_dotted_prefix(const std::string& name, const std::string& prefix) {
  if (prefix.empty() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.size() == prefix.size() || name[prefix.size()] == '.';
}

void LastPerResolution::add(std::string name, torch::Tensor maps) {
  if (!kept_.empty()) {
    const auto& last = kept_.back().second;
    if (last.size(-2) == maps.size(-2) && last.size(-1) == maps.size(-1)) kept_.pop_back();
  }
  kept_.emplace_back(std::move(name), std::move(maps));
}

std::vector<std::pair<std::string, torch::Tensor>> LastPerResolution::take() { return std::move(kept_); }

}  // namespace satx::models::detail
