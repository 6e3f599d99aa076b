#include "satx/models/network.hpp"

#include "models/detail/layers.hpp"
#include "satx/core/error.hpp"
#include "satx/models/mobilenet_v2.hpp"
#include "satx/models/resnet.hpp"
#include "satx/models/xception.hpp"

namespace satx::models {

std::shared_ptr<Network> create_network(const std::string& arch, const NetworkOptions& options) {
  const Manifest& manifest = find_manifest(arch);
  if (manifest.arch == "resnet50") return std::make_shared<ResNet50>(manifest, options);
  if (manifest.arch == "mobilenetv2") return std::make_shared<MobileNetV2>(manifest, options);
  if (manifest.arch == "xception") return std::make_shared<Xception>(manifest, options);
  throw_runtime("model '" + manifest.arch + "' has a manifest but no implementation in this build");
}

torch::Tensor adapt_input_channels(const torch::Tensor& rgb_kernel, int64_t in_channels) {
  if (rgb_kernel.dim() != 4 || rgb_kernel.size(1) != 3)
    throw_bad_data("adapting the first convolution: expected an RGB kernel [out, 3, kh, kw], got " +
                   c10::str(rgb_kernel.sizes()));
  if (in_channels < 1) throw_usage("in_channels must be at least 1, got " + std::to_string(in_channels));
  if (in_channels == 3) return rgb_kernel.clone();
  // Every new channel sees the mean RGB filter; scaling by 3 / C keeps the sum over input
  // channels, so an image whose C channels all equal v gives exactly the RGB response to
  // an RGB image whose 3 channels equal v.
  auto mean = rgb_kernel.mean(1, /*keepdim=*/true) * (3.0 / static_cast<double>(in_channels));
  return mean.expand({-1, in_channels, -1, -1}).contiguous();
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& parameter : module.parameters())
    if (parameter.requires_grad()) total += parameter.numel();
  return total;
}

int stage_of(const Manifest& manifest, const std::string& parameter_name) {
  int best = -1;
  size_t best_length = 0;
  for (size_t i = 0; i < manifest.stages.size(); ++i) {
    const auto& stage = manifest.stages[i];
    if (detail::has_dotted_prefix(parameter_name, stage) && stage.size() > best_length) {
      best = static_cast<int>(i);
      best_length = stage.size();
    }
  }
  return best;
}

namespace {

// Walks children by name rather than with named_modules(), which needs the top module to be
// owned by a shared_ptr.
void collect_state(const torch::nn::Module& module, const std::string& prefix, std::vector<NamedTensor>& entries) {
  for (const auto& parameter : module.named_parameters(/*recurse=*/false))
    if (parameter.value().defined()) entries.emplace_back(prefix + parameter.key(), parameter.value());
  for (const auto& buffer : module.named_buffers(/*recurse=*/false))
    if (buffer.value().defined()) entries.emplace_back(prefix + buffer.key(), buffer.value());
  for (const auto& child : module.named_children()) collect_state(*child.value(), prefix + child.key() + ".", entries);
}

}  // namespace

std::vector<NamedTensor> state_entries(const torch::nn::Module& module) {
  std::vector<NamedTensor> entries;
  collect_state(module, "", entries);
  return entries;
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters())
    if (parameter.dim() == 4) parameter.set_data(parameter.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

}  // namespace satx::models
