#include "train/detail/step.hpp"

#include <torch/torch.h>

#include "satx/infer/precision.hpp"

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

void EpochStats::add(const torch::Tensor& loss, const torch::Tensor& logits, const torch::Tensor& targets) {
  torch::NoGradGuard no_grad;
  const int64_t n = logits.size(0);
  const auto batch_loss = loss.detach().to(torch::kDouble) * static_cast<double>(n);
  const auto batch_correct = logits.argmax(1).eq(targets.argmax(1)).sum().to(torch::kDouble);
  loss_sum_t_ = loss_sum_t_.defined() ? loss_sum_t_ + batch_loss : batch_loss;
  correct_t_ = correct_t_.defined() ? correct_t_ + batch_correct : batch_correct;
  pending_samples_ += n;
  ++steps_;
}

void EpochStats::sync() {
  if (!loss_sum_t_.defined()) return;
  // One copy of both sums.
  const auto both = torch::stack({loss_sum_t_, correct_t_}).to(torch::kCPU);
  loss_sum_ = both[0].item<double>();
  correct_ = both[1].item<double>();
  samples_ = pending_samples_;
}

void reduce_gradients(const std::vector<ParameterGroup>& /*groups*/) {}

void train_step(StepContext& c, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                const torch::Tensor& inputs, const torch::Tensor& targets, int64_t step, EpochStats& stats) {
  const double factor = c.schedule->factor(step);
  set_learning_rates(*c.optimizer, *c.groups, c.peak_lr, factor);
  c.optimizer->zero_grad();
  torch::Tensor logits;
  {
    infer::AutocastScope autocast(c.autocast);
    logits = forward(inputs);
  }
  const auto loss = soft_focal_loss(logits, targets, c.focal_gamma, c.label_smoothing, c.class_weights);
  (c.scaler ? c.scaler->scale(loss) : loss).backward();
  reduce_gradients(*c.groups);

  std::vector<torch::Tensor> parameters;
  for (const auto& group : *c.groups) parameters.insert(parameters.end(), group.parameters.begin(), group.parameters.end());
  const bool finite = !c.scaler || c.scaler->unscale_and_check(parameters);
  if (finite) {
    if (c.clip_grad > 0) torch::nn::utils::clip_grad_norm_(parameters, c.clip_grad);
    c.optimizer->step();
  }
  stats.add(loss, logits, targets);
  stats.lr = c.peak_lr * factor * (c.groups->empty() ? 1.0 : c.groups->back().lr_scale);
}

}  // namespace satx::train::detail
