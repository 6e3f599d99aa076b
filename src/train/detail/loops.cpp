#include "train/detail/loops.hpp"

#include <torch/torch.h>

namespace satx::train::detail {

torch::Tensor soft_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets, double gamma, double smoothing,
                              const torch::Tensor& class_weights) {
  const int64_t classes = logits.size(1);
  const auto log_probabilities = torch::log_softmax(logits.to(torch::kFloat), 1);
  auto smoothed = smoothing > 0 ? targets * (1.0 - smoothing) + smoothing / static_cast<double>(classes) : targets;
  auto per_class = -(smoothed * log_probabilities);
  // Lin et al.'s modulating factor (1 - p)^gamma, per class so soft and smoothed targets work.
  if (gamma > 0) per_class = per_class * (1.0 - log_probabilities.exp()).clamp_min(0).pow(gamma);
  const auto per_sample = per_class.sum(1);
  if (!class_weights.defined()) return per_sample.mean();
  // A mixed sample weighs as the mix of its classes' weights (PyTorch's weighted mean otherwise).
  const auto weights = (targets * class_weights.view({1, -1})).sum(1);
  return (per_sample * weights).sum() / weights.sum().clamp_min(1e-12);
}

torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets, double smoothing,
                                 const torch::Tensor& class_weights) {
  return soft_focal_loss(logits, targets, 0.0, smoothing, class_weights);
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

void train_step(StepContext& c, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                const torch::Tensor& inputs, const torch::Tensor& targets, int64_t step, EpochStats& stats) {
  const double factor = c.schedule->factor(step);
  set_learning_rates(*c.optimizer, *c.groups, c.peak_lr, factor);
  c.optimizer->zero_grad();
  torch::Tensor logits;
  {
    AutocastScope autocast(c.amp);
    logits = forward(inputs);
  }
  const auto loss = soft_focal_loss(logits, targets, c.focal_gamma, c.label_smoothing, c.class_weights);
  (c.scaler ? c.scaler->scale(loss) : loss).backward();

  std::vector<torch::Tensor> parameters;
  for (const auto& group : *c.groups)
    parameters.insert(parameters.end(), group.parameters.begin(), group.parameters.end());
  const bool finite = !c.scaler || c.scaler->unscale_and_check(parameters);
  if (finite) {
    if (c.clip_grad > 0) torch::nn::utils::clip_grad_norm_(parameters, c.clip_grad);
    c.optimizer->step();
  }

  const int64_t n = inputs.size(0);
  stats.loss_sum += loss.item<double>() * n;
  stats.correct += logits.argmax(1).eq(targets.argmax(1)).sum().item<double>();
  stats.samples += n;
  stats.steps += 1;
  stats.lr = c.peak_lr * factor * (c.groups->empty() ? 1.0 : c.groups->back().lr_scale);
}

std::pair<torch::Tensor, torch::Tensor> prepare_train_batch(const TrainInput& input, const data::Batch& batch,
                                                            int64_t epoch, int64_t step) {
  const auto images = batch.images.to(input.device, /*non_blocking=*/true).to(torch::kFloat).div_(255.0);
  AugmentOptions options = input.augment_options;
  options.output_size = input.input_size;
  if (!input.augment) {
    options.dihedral = false;
    options.crop_scale = 1.0;
    options.jitter = 0.0;
    options.mixup = options.cutmix = 0.0;
  }
  auto augmented = augment_batch(images, batch.labels, input.num_classes, options, batch_seed(input.seed, epoch, step));
  const auto channels = static_cast<int64_t>(input.mean.size());
  const auto mean = torch::tensor(input.mean).view({1, channels, 1, 1}).to(input.device);
  const auto stdev = torch::tensor(input.std).view({1, channels, 1, 1}).to(input.device);
  auto x = (augmented.images - mean) / stdev;
  if (input.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  return {x, augmented.targets};
}

namespace {

// One inference pass over `loader` (eval mode, no grad): `forward` maps each preprocessed batch
// to a float output; returns the outputs and labels, concatenated, on `device_of_result`
// (kCPU) or on the outputs' own device (nullopt).
std::pair<torch::Tensor, torch::Tensor> run_inference(
    models::Network& network, data::TileLoader& loader, const infer::Preprocessor& preprocess,
    std::optional<torch::ScalarType> amp, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
    std::optional<torch::Device> device_of_result, const std::function<void(int64_t, int64_t)>& on_batch,
    bool every_tile_once = false) {
  network.eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> outputs, labels;
  if (every_tile_once) loader.start_pass();
  else loader.start_epoch(0);
  const auto total = static_cast<int64_t>(loader.batches_per_epoch());
  int64_t done = 0;
  while (auto batch = loader.next()) {
    if (batch->labels.numel() > 0) {
      torch::Tensor out;
      {
        AutocastScope autocast(amp);
        out = forward(preprocess(batch->images));
      }
      const torch::Device device = device_of_result.value_or(out.device());
      outputs.push_back(out.to(device, torch::kFloat));
      labels.push_back(batch->labels.to(device));
    }
    if (on_batch) on_batch(++done, total);
  }
  if (outputs.empty()) return {};
  return {torch::cat(outputs), torch::cat(labels)};
}

}  // namespace

Predictions predict_loader(models::Network& network, data::TileLoader& loader, const infer::Preprocessor& preprocess,
                           std::optional<torch::ScalarType> amp, const std::function<void(int64_t, int64_t)>& on_batch) {
  auto [logits, labels] = run_inference(
      network, loader, preprocess, amp, [&network](const torch::Tensor& x) { return network.forward(x); },
      torch::Device(torch::kCPU), on_batch);
  if (!logits.defined()) return {torch::zeros({0, network.num_classes()}), torch::zeros({0}, torch::kLong)};
  return {logits, labels};
}

FeatureSet cache_features(models::Network& network, data::TileLoader& loader, const infer::Preprocessor& preprocess,
                          std::optional<torch::ScalarType> amp, const std::function<void(int64_t, int64_t)>& on_batch,
                          bool every_tile_once) {
  auto [features, labels] = run_inference(
      network, loader, preprocess, amp, [&network](const torch::Tensor& x) { return network.forward_features(x); },
      std::nullopt, on_batch, every_tile_once);
  return {features, labels};
}

}  // namespace satx::train::detail
