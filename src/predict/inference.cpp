#include "satx/predict/inference.hpp"

#include "satx/core/error.hpp"

namespace satx::predict {

namespace {

PreprocessOptions preprocess_options(const io::ModelMetadata& metadata, torch::Device device, torch::ScalarType dtype,
                                     bool channels_last) {
  PreprocessOptions options;
  options.input_size = metadata.input_size;
  options.mean = metadata.mean;
  options.std = metadata.std;
  options.device = device;
  options.dtype = dtype;
  options.channels_last = channels_last;
  return options;
}

}  // namespace

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

InferenceEngine::InferenceEngine(io::LoadedModel model, torch::Device device, InferenceOptions options)
    : model_(std::move(model)),
      device_(device),
      options_(std::move(options)),
      dtype_(resolve_precision(options_.precision, device)),
      preprocess_(preprocess_options(model_.metadata, device, dtype_, options_.channels_last)) {
  if (!model_.network) throw_usage("inference needs a network");
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
  torch::Tensor input = preprocess_(images);
  auto& network = *model_.network;
  if (!options_.tta) return network.forward(input).to(torch::kFloat).softmax(1).to(torch::kCPU);
  torch::Tensor sum;
  for (int k = 0; k < 8; ++k) {
    torch::Tensor view = dihedral_view(input, k);
    if (options_.channels_last) view = view.contiguous(torch::MemoryFormat::ChannelsLast);
    torch::Tensor p = network.forward(view).to(torch::kFloat).softmax(1);
    sum = k == 0 ? p : sum.add_(p);
  }
  return sum.div_(8.0).to(torch::kCPU);
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

}  // namespace satx::predict
