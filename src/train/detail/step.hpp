#pragma once
// One optimizer step, and the loss it minimizes. The step loop is the one place where the
// gradients of a step are complete (reduce_gradients: a multi-process run all-reduces there).

#include <functional>
#include <optional>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "satx/train/optimizer.hpp"
#include "satx/train/schedule.hpp"
#include "train/detail/loss_scaler.hpp"

namespace satx::train::detail {

// Focal loss (Lin et al. 2017) against soft targets [N, K]: -sum_c y_c (1 - p_c)^gamma log p_c
// with label smoothing; with `class_weights` [K] (may be undefined) each sample counts by its
// target's weight and the mean is over weights. gamma 0 is the cross-entropy.
torch::Tensor soft_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets, double gamma, double smoothing,
                              const torch::Tensor& class_weights);

// soft_focal_loss at gamma 0.
torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets, double smoothing,
                                 const torch::Tensor& class_weights);

// Everything a training step needs besides the batch.
struct StepContext {
  torch::optim::Optimizer* optimizer = nullptr;
  const std::vector<ParameterGroup>* groups = nullptr;
  const LrSchedule* schedule = nullptr;
  double peak_lr = 1e-3;
  double clip_grad = 0;
  double label_smoothing = 0;
  double focal_gamma = 0;       // 0: cross-entropy
  torch::Tensor class_weights;  // [K] on the device, or undefined
  std::optional<torch::ScalarType> autocast;
  LossScaler* scaler = nullptr;
};

// Running statistics of an epoch, kept on the device: reading them (sync()) is the only host
// synchronisation of a step, made every log_every steps and at the end of the epoch.
class EpochStats {
 public:
  void add(const torch::Tensor& loss, const torch::Tensor& logits, const torch::Tensor& targets);
  // Copies the sums to the host; loss() and accuracy() then describe the steps so far.
  void sync();
  double loss() const { return samples_ ? loss_sum_ / static_cast<double>(samples_) : 0; }
  double accuracy() const { return samples_ ? correct_ / static_cast<double>(samples_) : 0; }
  int64_t steps() const { return steps_; }
  double lr = 0;  // rate of the last step (the last group's)

 private:
  torch::Tensor loss_sum_t_, correct_t_;
  double loss_sum_ = 0, correct_ = 0;
  int64_t samples_ = 0, pending_samples_ = 0, steps_ = 0;
};

// Where the gradients of a step are complete and about to be used: the single gradient
// reduction point of the training loop (one process: nothing to reduce).
void reduce_gradients(const std::vector<ParameterGroup>& groups);

// One optimizer step at schedule step `step` on `inputs` (already normalized; features for the
// cached head phase) with soft `targets` [N, K]; `forward` maps inputs to logits.
void train_step(StepContext& context, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                const torch::Tensor& inputs, const torch::Tensor& targets, int64_t step, EpochStats& stats);

}  // namespace satx::train::detail
