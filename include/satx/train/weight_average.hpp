#pragma once
/// Exponential moving average of a network's weights (Polyak averaging, timm's "model EMA"):
/// a second copy of the tensors that trails the trained ones and generalizes better than the
/// last step's weights. `satx train -ema=D` validates, checkpoints and tests the average.

#include <cstdint>

#include <torch/nn/module.h>

namespace satx::train {

/// The decay applied at update number `updates` (0-based): `decay`, but smaller during the first
/// updates ((1 + n) / (10 + n)) so the average is not dominated by the starting weights.
double average_decay(double decay, int64_t updates);

/// average <- d * average + (1 - d) * model for every parameter of `model` that requires a
/// gradient (d = average_decay(decay, updates)); frozen parameters and all buffers (BatchNorm
/// statistics) are copied. Both modules must have the same tensors by name and shape (Usage
/// error naming the first that differs).
void update_average(torch::nn::Module& average, torch::nn::Module& model, double decay, int64_t updates);

/// Copies every parameter and buffer of `from` into `to` (same names and shapes).
void copy_weights(torch::nn::Module& from, torch::nn::Module& to);

}  // namespace satx::train
