#include "satx/models/xception.hpp"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>

#include "models/detail/layers.hpp"

namespace satx::models {

using detail::conv2d;

SeparableConv2dImpl::SeparableConv2dImpl(int64_t in_channels, int64_t out_channels) {
  conv1 = register_module("conv1", conv2d(in_channels, in_channels, 3, 1, in_channels));
  pointwise = register_module("pointwise", conv2d(in_channels, out_channels, 1));
}

torch::Tensor SeparableConv2dImpl::forward(torch::Tensor input) { return pointwise(conv1(std::move(input))); }

XceptionBlockImpl::XceptionBlockImpl(const XceptionBlockOptions& options) {
  const int64_t in = options.in_channels();
  const int64_t out = options.out_channels();
  if (out != in || options.stride() != 1) {
    skip = register_module("skip", conv2d(in, out, 1, options.stride()));
    skipbn = register_module("skipbn", torch::nn::BatchNorm2d(out));
  }
  rep = torch::nn::Sequential();
  for (int64_t i = 0; i < options.reps(); ++i) {
    const int64_t rep_in = options.grow_first() ? (i == 0 ? in : out) : in;
    const int64_t rep_out = options.grow_first() ? out : (i < options.reps() - 1 ? in : out);
    if (i > 0 || options.start_with_relu()) {
      // The leading ReLU must not overwrite the block input: the shortcut still reads it.
      rep->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/i > 0)));
    }
    rep->push_back(SeparableConv2d(rep_in, rep_out));
    rep->push_back(torch::nn::BatchNorm2d(rep_out));
  }
  if (options.stride() != 1)
    rep->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(options.stride()).padding(1)));
  register_module("rep", rep);
}

torch::Tensor XceptionBlockImpl::forward(torch::Tensor input) {
  auto out = rep->forward(input);
  out += skip ? skipbn(skip(input)) : input;
  return out;
}

namespace {

constexpr int64_t kFeatures = 2048;

std::vector<XceptionBlockOptions> block_layout() {
  std::vector<XceptionBlockOptions> layout = {
      XceptionBlockOptions(64, 128).reps(2).stride(2).start_with_relu(false),
      XceptionBlockOptions(128, 256).reps(2).stride(2),
      XceptionBlockOptions(256, 728).reps(2).stride(2),
  };
  for (int i = 4; i <= 11; ++i) layout.push_back(XceptionBlockOptions(728, 728).reps(3));
  layout.push_back(XceptionBlockOptions(728, 1024).reps(2).stride(2).grow_first(false));
  return layout;
}

}  // namespace

Xception::Xception(Manifest manifest, const NetworkOptions& options) : manifest_(std::move(manifest)) {
  detail::check_options(options, manifest_.arch);
  conv1 = register_module("conv1", conv2d(options.in_channels, 32, 3, 2, 1, 0));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(32));
  conv2 = register_module("conv2", conv2d(32, 64, 3, 1, 1, 0));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(64));
  int index = 1;
  for (const auto& block : block_layout())
    blocks.push_back(register_module("block" + std::to_string(index++), XceptionBlock(block)));
  conv3 = register_module("conv3", SeparableConv2d(1024, 1536));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(1536));
  conv4 = register_module("conv4", SeparableConv2d(1536, kFeatures));
  bn4 = register_module("bn4", torch::nn::BatchNorm2d(kFeatures));
  fc = register_module("fc", torch::nn::Linear(kFeatures, options.num_classes));
  detail::init_backbone(*this, detail::HeadInit::Default);
}

torch::Tensor Xception::stem(torch::Tensor input) {
  auto x = bn1(conv1(std::move(input))).relu_();
  return bn2(conv2(x)).relu_();
}

torch::Tensor Xception::exit_flow(torch::Tensor maps) {
  auto x = bn3(conv3(std::move(maps))).relu_();
  return bn4(conv4(x)).relu_();
}

torch::Tensor Xception::forward(torch::Tensor input) { return forward_head(forward_features(std::move(input))); }

torch::Tensor Xception::forward_features(torch::Tensor input) {
  auto x = stem(std::move(input));
  for (auto& block : blocks) x = block(x);
  return detail::global_average_pool(exit_flow(x));
}

torch::Tensor Xception::forward_head(torch::Tensor features) { return fc(features); }

std::vector<std::pair<std::string, torch::Tensor>> Xception::forward_stages(torch::Tensor input) {
  detail::LastPerResolution stages;
  auto x = stem(std::move(input));
  stages.add("act2", x);
  for (size_t i = 0; i < blocks.size(); ++i) {
    x = blocks[i](x);
    stages.add("block" + std::to_string(i + 1), x);
  }
  stages.add("act4", exit_flow(x));
  return stages.take();
}

void Xception::replace_head(int64_t num_classes) {
  detail::check_options(NetworkOptions{num_classes, in_channels()}, manifest_.arch);
  fc = replace_module("fc", detail::make_head(kFeatures, num_classes, detail::HeadInit::Default, fc->weight));
  fc->train(is_training());
}

std::vector<torch::Tensor> Xception::head_parameters() { return fc->parameters(); }

}  // namespace satx::models
