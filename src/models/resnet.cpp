#include "satx/models/resnet.hpp"

#include <torch/nn/functional/pooling.h>

#include "models/detail/layers.hpp"

namespace satx::models {

using detail::conv2d;

namespace {
constexpr int64_t kExpansion = 4;
}

BottleneckImpl::BottleneckImpl(const BottleneckOptions& options) {
  const int64_t width = options.width();
  const int64_t out_channels = width * kExpansion;
  conv1 = register_module("conv1", conv2d(options.in_channels(), width, 1));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(width));
  conv2 = register_module("conv2", conv2d(width, width, 3, options.stride()));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(width));
  conv3 = register_module("conv3", conv2d(width, out_channels, 1));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(out_channels));
  if (options.stride() != 1 || options.in_channels() != out_channels) {
    downsample = register_module(
        "downsample", torch::nn::Sequential(conv2d(options.in_channels(), out_channels, 1, options.stride()),
                                            torch::nn::BatchNorm2d(out_channels)));
  }
}

torch::Tensor BottleneckImpl::forward(torch::Tensor input) {
  // In-place ReLU/add on BatchNorm outputs is autograd-safe (BN's backward needs only its
  // input) and saves one activation-sized allocation per op, as torchvision's inplace=True.
  auto out = bn1(conv1(input)).relu_();
  out = bn2(conv2(out)).relu_();
  out = bn3(conv3(out));
  out += downsample ? downsample->forward(input) : input;
  return out.relu_();
}

namespace {

torch::nn::Sequential make_layer(int64_t& in_channels, int64_t width, int64_t blocks, int64_t stride) {
  torch::nn::Sequential layer;
  layer->push_back(Bottleneck(BottleneckOptions(in_channels, width).stride(stride)));
  in_channels = width * kExpansion;
  for (int64_t i = 1; i < blocks; ++i) layer->push_back(Bottleneck(BottleneckOptions(in_channels, width)));
  return layer;
}

}  // namespace

ResNet50::ResNet50(Manifest manifest, const NetworkOptions& options) : manifest_(std::move(manifest)) {
  detail::check_options(options, manifest_.arch);
  conv1 = register_module("conv1", conv2d(options.in_channels, 64, 7, 2, 1, 3));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(64));
  int64_t channels = 64;
  layer1 = register_module("layer1", make_layer(channels, 64, 3, 1));
  layer2 = register_module("layer2", make_layer(channels, 128, 4, 2));
  layer3 = register_module("layer3", make_layer(channels, 256, 6, 2));
  layer4 = register_module("layer4", make_layer(channels, 512, 3, 2));
  fc = register_module("fc", torch::nn::Linear(channels, options.num_classes));
  detail::init_backbone(*this, detail::HeadInit::Default);
}

torch::Tensor ResNet50::stem(torch::Tensor input) {
  auto x = bn1(conv1(input)).relu_();
  return torch::nn::functional::max_pool2d(x, torch::nn::functional::MaxPool2dFuncOptions(3).stride(2).padding(1));
}

torch::Tensor ResNet50::forward(torch::Tensor input) { return forward_head(forward_features(std::move(input))); }

torch::Tensor ResNet50::forward_features(torch::Tensor input) {
  auto x = stem(std::move(input));
  x = layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
  return detail::global_average_pool(x);
}

torch::Tensor ResNet50::forward_head(torch::Tensor features) { return fc(features); }

std::vector<std::pair<std::string, torch::Tensor>> ResNet50::forward_stages(torch::Tensor input) {
  std::vector<std::pair<std::string, torch::Tensor>> stages;
  auto x = stem(std::move(input));
  x = layer1->forward(x);
  stages.emplace_back("layer1", x);
  x = layer2->forward(x);
  stages.emplace_back("layer2", x);
  x = layer3->forward(x);
  stages.emplace_back("layer3", x);
  x = layer4->forward(x);
  stages.emplace_back("layer4", x);
  return stages;
}

void ResNet50::replace_head(int64_t num_classes) {
  detail::check_options(NetworkOptions{num_classes, in_channels()}, manifest_.arch);
  fc = replace_module("fc", detail::make_head(fc->options.in_features(), num_classes, detail::HeadInit::Default,
                                              fc->weight));
  fc->train(is_training());
}

std::vector<torch::Tensor> ResNet50::head_parameters() { return fc->parameters(); }

}  // namespace satx::models
