#pragma once
// From decoded tiles to what a training step consumes, and the BatchNorm handling of phase 2.

#include <functional>

#include <torch/types.h>

#include "satx/data/loader.hpp"
#include "satx/infer/preprocess.hpp"
#include "satx/models/network.hpp"
#include "satx/train/augment.hpp"

namespace satx::train::detail {

// Device-side preparation of training batches.
struct TrainInput {
  torch::Device device = torch::kCPU;
  int64_t input_size = 224;
  const infer::Preprocessor* normalize = nullptr;  // the inference engine's: one normalization for both
  AugmentOptions augment;
  int64_t num_classes = 2;
  uint64_t seed = 0;
};

// uint8 batch -> (normalized float input, soft targets), augmented with seed (seed, epoch, step).
std::pair<torch::Tensor, torch::Tensor> prepare_train_batch(const TrainInput& input, const data::Batch& batch,
                                                            int64_t epoch, int64_t step);

// Puts every BatchNorm of `module` in inference mode (running statistics used, not updated).
void freeze_batchnorm(torch::nn::Module& module);

// Re-expresses every trainable (affine, weight requiring grad) BatchNorm2d of `network` around the
// statistics of its input on `inputs` (normalized, on the network's device; forwarded in chunks
// of `chunk` tiles), without changing what the network computes in inference mode:
// running_mean/running_var become the measured mean/variance, and weight and bias absorb the
// difference. Training-mode BatchNorm then starts from (almost) the function the network had.
// `on_layer(done, total)` follows the layers (one forward pass over `inputs` each). Returns the
// number of layers.
int calibrate_batchnorm(models::Network& network, const torch::Tensor& inputs, int64_t chunk = 64,
                        const std::function<void(int64_t, int64_t)>& on_layer = {});

}  // namespace satx::train::detail
