#include "satx/infer/engine.hpp"

#include <algorithm>
#include <cmath>

#include "satx/core/error.hpp"

namespace satx::infer {

namespace {

PreprocessOptions preprocess_options(const models::ModelMetadata& metadata, int input_size, torch::Device device,
                                     torch::ScalarType dtype, bool channels_last) {
  PreprocessOptions options;
  options.input_size = input_size;
  options.mean = metadata.mean;
  options.std = metadata.std;
  options.device = device;
  options.dtype = dtype;
  options.channels_last = channels_last;
  return options;
}

}  // namespace

std::vector<int> scaled_input_sizes(int input_size, const std::vector<double>& scales) {
  if (scales.empty()) throw_usage("-tta-scales needs at least one scale (1 = the model's input size)");
  std::vector<int> sizes;
  for (const double scale : scales) {
    const long size = std::lround(input_size * scale);
    if (!(scale > 0) || size < 8)
      throw_usage("-tta-scales: " + std::to_string(scale) + " times the model's input size " +
                  std::to_string(input_size) + " is not a usable size (scales must give at least 8 pixels)");
    if (std::find(sizes.begin(), sizes.end(), size) == sizes.end()) sizes.push_back(static_cast<int>(size));
  }
  return sizes;
}

torch::ScalarType resolve_precision(const std::string& precision, torch::Device device) {
  if (precision == "auto") return device.is_cuda() ? torch::kHalf : torch::kFloat;
  if (precision == "float32" || precision == "fp32") return torch::kFloat;
  if (precision == "float16" || precision == "fp16" || precision == "half") {
    if (!device.is_cuda()) throw_usage("-precision=" + precision + " needs a CUDA device; use float32 (or bfloat16) on CPU");
    return torch::kHalf;
  }
  if (precision == "bfloat16" || precision == "bf16") return torch::kBFloat16;
  throw_usage(unknown_value_message("precision", precision, {"auto", "float32", "float16", "bfloat16"}));
}

InferenceEngine::InferenceEngine(models::LoadedModel model, torch::Device device, InferenceOptions options)
    : model_(std::move(model)),
      device_(device),
      options_(std::move(options)),
      dtype_(resolve_precision(options_.precision, device)),
      input_sizes_(scaled_input_sizes(model_.metadata.input_size, options_.tta_scales)) {
  if (!model_.network) throw_usage("inference needs a network");
  for (const int size : input_sizes_)
    preprocessors_.emplace_back(preprocess_options(model_.metadata, size, device, dtype_, options_.channels_last));
  torch::NoGradGuard no_grad;
  auto& network = *model_.network;
  network.eval();
  network.to(device_, dtype_);
  if (options_.channels_last) {
    for (auto& parameter : network.parameters())
      if (parameter.dim() == 4) parameter.set_data(parameter.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

torch::Tensor InferenceEngine::probabilities(const torch::Tensor& images) {
  c10::InferenceMode inference;
  auto& network = *model_.network;
  if (!options_.tta && preprocessors_.size() == 1)
    return network.forward(preprocessors_.front()(images)).to(torch::kFloat).softmax(1).to(torch::kCPU);
  // The mean of the probabilities, not of the logits: each view votes with a distribution.
  torch::Tensor sum;
  for (auto& preprocess : preprocessors_) {
    const torch::Tensor input = preprocess(images);
    for (int k = 0; k < (options_.tta ? 8 : 1); ++k) {
      torch::Tensor view = dihedral_view(input, k);
      if (options_.channels_last) view = view.contiguous(torch::MemoryFormat::ChannelsLast);
      torch::Tensor p = network.forward(view).to(torch::kFloat).softmax(1);
      sum = sum.defined() ? sum.add_(p) : p;
    }
  }
  return sum.div_(static_cast<double>(views())).to(torch::kCPU);
}

torch::Tensor dihedral_view(const torch::Tensor& images, int k) {
  torch::Tensor view = k >= 4 ? images.flip({3}) : images;
  const int turns = k % 4;
  return turns == 0 ? view : torch::rot90(view, turns, {2, 3});
}

torch::Tensor decide_labels(const torch::Tensor& probabilities, std::optional<double> threshold) {
  if (threshold && probabilities.size(1) == 2)
    return probabilities.select(1, 1).ge(*threshold).to(torch::kLong);
  return probabilities.argmax(1);
}

}  // namespace satx::infer
