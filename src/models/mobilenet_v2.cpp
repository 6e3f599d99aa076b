#include "satx/models/mobilenet_v2.hpp"

#include "models/detail/layers.hpp"

namespace satx::models {

namespace {

constexpr int64_t kStemChannels = 32;
constexpr int64_t kLastChannels = 1280;
constexpr double kDropout = 0.2;

/// torchvision's inverted_residual_setting for width 1.0: expand ratio t, channels c,
/// repeats n, first stride s.
struct StageSetting {
  int64_t t, c, n, s;
};
constexpr StageSetting kSettings[] = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};

// ReLU6 as an in-place hardtanh: no extra activation tensor, and autograd-safe because
// hardtanh_'s backward reads its result, not its overwritten input.
torch::Tensor relu6_(torch::Tensor x) { return torch::hardtanh_(x, 0.0, 6.0); }

}  // namespace

ConvNormReLU6Impl::ConvNormReLU6Impl(const ConvNormReLU6Options& options) {
  conv = register_module("0", detail::conv2d(options.in_channels(), options.out_channels(), options.kernel(),
                                             options.stride(), options.groups()));
  norm = register_module("1", torch::nn::BatchNorm2d(options.out_channels()));
}

torch::Tensor ConvNormReLU6Impl::forward(torch::Tensor input) { return relu6_(norm(conv(std::move(input)))); }

InvertedResidualImpl::InvertedResidualImpl(const InvertedResidualOptions& options) {
  const int64_t in = options.in_channels();
  const int64_t hidden = in * options.expand_ratio();
  residual_ = options.stride() == 1 && in == options.out_channels();
  conv = torch::nn::Sequential();
  if (options.expand_ratio() != 1) conv->push_back(ConvNormReLU6(ConvNormReLU6Options(in, hidden).kernel(1)));
  conv->push_back(ConvNormReLU6(ConvNormReLU6Options(hidden, hidden).stride(options.stride()).groups(hidden)));
  conv->push_back(detail::conv2d(hidden, options.out_channels(), 1));
  conv->push_back(torch::nn::BatchNorm2d(options.out_channels()));
  register_module("conv", conv);
}

torch::Tensor InvertedResidualImpl::forward(torch::Tensor input) {
  auto out = conv->forward(input);
  if (residual_) out += input;  // out is a fresh BatchNorm output: safe to add in place
  return out;
}

MobileNetV2::MobileNetV2(Manifest manifest, const NetworkOptions& options)
    : manifest_(std::move(manifest)), in_channels_(options.in_channels) {
  detail::check_options(options, manifest_.arch);
  features = torch::nn::Sequential();
  features->push_back(ConvNormReLU6(ConvNormReLU6Options(options.in_channels, kStemChannels).stride(2)));
  int64_t channels = kStemChannels;
  for (const auto& stage : kSettings) {
    for (int64_t i = 0; i < stage.n; ++i) {
      features->push_back(InvertedResidual(
          InvertedResidualOptions(channels, stage.c).stride(i == 0 ? stage.s : 1).expand_ratio(stage.t)));
      channels = stage.c;
    }
  }
  features->push_back(ConvNormReLU6(ConvNormReLU6Options(channels, kLastChannels).kernel(1)));
  register_module("features", features);

  dropout = torch::nn::Dropout(torch::nn::DropoutOptions(kDropout));
  head = torch::nn::Linear(kLastChannels, options.num_classes);
  classifier = register_module("classifier", torch::nn::Sequential(dropout, head));
  detail::init_backbone(*this, detail::HeadInit::Normal001);
}

torch::Tensor MobileNetV2::forward(torch::Tensor input) { return forward_head(forward_features(std::move(input))); }

torch::Tensor MobileNetV2::forward_features(torch::Tensor input) {
  return detail::global_average_pool(features->forward(std::move(input)));
}

torch::Tensor MobileNetV2::forward_head(torch::Tensor features_in) { return head(dropout(std::move(features_in))); }

std::vector<std::pair<std::string, torch::Tensor>> MobileNetV2::forward_stages(torch::Tensor input) {
  detail::LastPerResolution stages;
  auto x = std::move(input);
  size_t index = 0;
  for (auto& block : *features) {
    x = block.forward(x);
    stages.add("features." + std::to_string(index++), x);
  }
  return stages.take();
}

void MobileNetV2::replace_head(int64_t num_classes) {
  detail::check_options(NetworkOptions{num_classes, in_channels_}, manifest_.arch);
  head = detail::make_head(kLastChannels, num_classes, detail::HeadInit::Normal001, head->weight);
  head->train(is_training());
  // Sequential runs its own list of modules, so the classifier is rebuilt around the new head.
  classifier = replace_module("classifier", torch::nn::Sequential(dropout, head));
}

std::vector<torch::Tensor> MobileNetV2::head_parameters() { return head->parameters(); }

}  // namespace satx::models
