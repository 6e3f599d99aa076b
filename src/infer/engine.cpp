#include "satx/infer/engine.hpp"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/infer/dihedral.hpp"

namespace satx::infer {

std::vector<int> scaled_input_sizes(int input_size, const std::vector<double>& scales) {
  if (scales.empty()) throw_option("tta_scales", "needs at least one scale (1 = the model's input size)");
  std::vector<int> sizes;
  for (const double scale : scales) {
    const long size = std::lround(input_size * scale);
    if (!(scale > 0) || size < 8)
      throw_option("tta_scales", ": " + std::to_string(scale) + " times the model's input size " +
                  std::to_string(input_size) + " is not a usable size (scales must give at least 8 pixels)");
    if (std::find(sizes.begin(), sizes.end(), size) == sizes.end()) sizes.push_back(static_cast<int>(size));
  }
  return sizes;
}

InferenceEngine::InferenceEngine(std::shared_ptr<models::Network> network, models::ModelMetadata metadata,
                                 torch::Device device, EngineOptions options)
    : network_(std::move(network)),
      metadata_(std::move(metadata)),
      device_(device),
      options_(std::move(options)),
      autocast_(resolve_precision(options_.precision, device)),
      input_sizes_(scaled_input_sizes(metadata_.input_size, options_.tta_scales)) {
  if (!network_) throw_usage("inference needs a network");
  for (const int size : input_sizes_) {
    PreprocessOptions preprocess;
    preprocess.input_size = size;
    preprocess.mean = metadata_.mean;
    preprocess.std = metadata_.std;
    preprocess.device = device_;
    preprocess.channels_last = options_.channels_last;
    preprocessors_.emplace_back(preprocess);
  }
}

InferenceEngine::InferenceEngine(models::LoadedModel model, torch::Device device, EngineOptions options)
    : InferenceEngine(model.network, model.metadata, device, std::move(options)) {
  network_->to(device_);
  if (options_.channels_last) models::to_channels_last(*network_);
}

torch::Tensor InferenceEngine::probabilities(const torch::Tensor& images) {
  c10::InferenceMode inference;
  network_->eval();
  AutocastScope autocast(autocast_);
  // The mean of the probabilities, not of the logits: each view votes with a distribution.
  torch::Tensor sum;
  for (auto& preprocess : preprocessors_) {
    const torch::Tensor input = preprocess(images);
    for (int k = 0; k < (options_.tta ? 8 : 1); ++k) {
      torch::Tensor view = k == 0 ? input : dihedral_view(input, k);
      if (options_.channels_last && k != 0) view = view.contiguous(torch::MemoryFormat::ChannelsLast);
      torch::Tensor p = network_->forward(view).to(torch::kFloat).softmax(1);
      sum = sum.defined() ? sum.add_(p) : p;
    }
  }
  if (views() > 1) sum.div_(static_cast<double>(views()));
  return sum.to(torch::kCPU);
}

torch::Tensor InferenceEngine::features(const torch::Tensor& images) {
  // Not InferenceMode: the head trains on these features, and autograd cannot save inference tensors.
  torch::NoGradGuard no_grad;
  network_->eval();
  AutocastScope autocast(autocast_);
  return network_->forward_features(preprocessors_.front()(images)).to(torch::kFloat);
}

std::optional<double> resolve_threshold(const models::ModelMetadata& metadata, std::optional<double> override) {
  const bool binary = metadata.classes.size() == 2;
  if (override && !binary)
    throw_option("threshold", "applies to two-class models; this model has " + std::to_string(metadata.classes.size()) +
                " classes");
  if (override && !(*override >= 0.0 && *override <= 1.0))
    throw_option("threshold", "must be a probability in [0, 1], got " + std::to_string(*override));
  if (!binary) return std::nullopt;
  return override ? override : metadata.threshold;
}

torch::Tensor decide_labels(const torch::Tensor& probabilities, std::optional<double> threshold) {
  if (threshold && probabilities.size(1) == 2) return probabilities.select(1, 1).ge(*threshold).to(torch::kLong);
  return probabilities.argmax(1);
}

}  // namespace satx::infer
