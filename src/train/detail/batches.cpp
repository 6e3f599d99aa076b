#include "train/detail/batches.hpp"

#include <torch/torch.h>

namespace satx::train::detail {

std::pair<torch::Tensor, torch::Tensor> prepare_train_batch(const TrainInput& input, const data::Batch& batch,
                                                            int64_t epoch, int64_t step) {
  const auto images = batch.images.to(input.device, /*non_blocking=*/true).to(torch::kFloat).div_(255.0);
  auto augmented = augment_batch(images, batch.labels, input.num_classes, input.augment, input.input_size,
                                 batch_seed(input.seed, epoch, step));
  return {input.normalize->normalize(augmented.images), augmented.targets};
}

void freeze_batchnorm(torch::nn::Module& module) {
  for (const auto& child : module.modules(/*include_self=*/true)) {
    if (child->as<torch::nn::BatchNorm2d>() || child->as<torch::nn::BatchNorm1d>()) child->eval();
  }
}

int calibrate_batchnorm(models::Network& network, const torch::Tensor& inputs, int64_t chunk,
                        const std::function<void(int64_t, int64_t)>& on_layer) {
  torch::NoGradGuard no_grad;
  std::vector<torch::nn::BatchNorm2dImpl*> layers;
  for (const auto& child : network.modules(/*include_self=*/false))
    if (auto* norm = child->as<torch::nn::BatchNorm2d>(); norm && norm->options.track_running_stats() && norm->options.affine() &&
                 norm->weight.requires_grad())
      layers.push_back(norm);
  const bool was_training = network.is_training();
  network.eval();
  int64_t done = 0;
  // One layer at a time, every other layer in inference mode: a layer normalizing its batch
  // would change what the layers after it see. Each layer's rewrite keeps the inference-mode
  // function, so layers already done leave the next one's input unchanged.
  for (auto* norm : layers) {
    const double eps = norm->options.eps();
    const auto old_mean = norm->running_mean.clone(), old_scale = (norm->running_var + eps).sqrt();
    const auto old_weight = norm->weight.clone(), old_bias = norm->bias.clone();
    const auto momentum = norm->options.momentum();
    const auto tracked = norm->num_batches_tracked.clone();
    norm->options.momentum(c10::nullopt);  // cumulative average over the chunks
    norm->reset_running_stats();
    norm->train();
    for (int64_t start = 0; start < inputs.size(0); start += chunk)
      network.forward(inputs.slice(0, start, std::min(inputs.size(0), start + chunk)));
    norm->eval();
    norm->options.momentum(momentum);
    norm->num_batches_tracked.copy_(tracked);
    const auto scale = (norm->running_var + eps).sqrt();
    // w (x - m) / s + b  ==  w0 (x - m0) / s0 + b0  for every x
    norm->weight.copy_(old_weight * scale / old_scale);
    norm->bias.copy_(old_bias + old_weight * (norm->running_mean - old_mean) / old_scale);
    if (on_layer) on_layer(++done, static_cast<int64_t>(layers.size()));
  }
  network.train(was_training);
  return static_cast<int>(layers.size());
}

}  // namespace satx::train::detail
