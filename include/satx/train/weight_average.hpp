#pragma once
/// Exponential moving average of a network's weights (Polyak averaging, timm's "model EMA"):
/// a second copy of the tensors that trails the trained ones and generalizes better than the
/// last step's weights. `satx train -ema=D` validates, checkpoints and tests the average.

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>

namespace satx::train {

/// The decay applied at update number `updates` (0-based): `decay`, but smaller during the first
/// updates ((1 + n) / (10 + n)) so the average is not dominated by the starting weights.
double average_decay(double decay, int64_t updates);

/// Copies every parameter and buffer of `from` into `to` (same names and shapes; Usage error
/// naming the first that differs).
void copy_weights(torch::nn::Module& from, torch::nn::Module& to);

/// Keeps `average` (a network built like `model`) as the moving average of `model`'s trained
/// parameters: those that require a gradient when it is constructed. Frozen parameters and
/// buffers (BatchNorm statistics) are not averaged but copied, so they stay bit-identical.
/// Both modules must outlive it.
class WeightAverage {
 public:
  /// Pairs the tensors by name and shape (Usage error naming the first that differs) and starts
  /// the average at `model`'s weights.
  WeightAverage(torch::nn::Module& model, torch::nn::Module& average, double decay);

  /// After optimizer step `updates` (0-based): average <- d * average + (1 - d) * model for the
  /// trained parameters, with d = average_decay(decay, updates).
  void update(int64_t updates);

  /// Copies the frozen parameters and buffers of the model into the average; call before using
  /// the average (the buffers change only when BatchNorm trains, so steps need not copy them).
  void copy_untrained();

 private:
  double decay_;
  std::vector<torch::Tensor> averaged_, trained_;  // the trained parameters: average side, model side
  std::vector<torch::Tensor> copies_, sources_;    // everything else
};

}  // namespace satx::train
