#pragma once
// The inner loops of training: one optimizer step, an epoch over a loader or over cached
// features, validation, and pooled-feature caching. The Trainer (trainer.cpp) sequences them.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "satx/data/loader.hpp"
#include "satx/models/network.hpp"
#include "satx/infer/preprocess.hpp"
#include "satx/train/augment.hpp"
#include "satx/train/optimizer.hpp"
#include "satx/train/progress.hpp"
#include "satx/train/schedule.hpp"
#include "train/detail/autocast.hpp"

namespace satx::train::detail {

// Cross-entropy against soft targets [N, K] with label smoothing; with `class_weights` [K]
// (may be undefined) each sample counts by its target's weight and the mean is over weights.
torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets, double smoothing,
                                 const torch::Tensor& class_weights);

// Focal loss (Lin et al. 2017) against soft targets: -sum_c y_c (1 - p_c)^gamma log p_c, with the
// smoothing and class weights of soft_cross_entropy; gamma 0 is the cross-entropy.
torch::Tensor soft_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets, double gamma, double smoothing,
                              const torch::Tensor& class_weights);

// Puts every BatchNorm of `module` in inference mode (running statistics used, not updated).
void freeze_batchnorm(torch::nn::Module& module);

// Re-expresses every trainable (affine, weight requiring grad) BatchNorm2d of `network` around the statistics of its input on
// `inputs` (normalized, on the network's device; forwarded in chunks of `chunk` tiles), without
// changing what the network computes in inference mode: running_mean/running_var become the
// measured mean/variance, and weight and bias absorb the difference. Training-mode BatchNorm
// then starts from (almost) the function the network had. `on_layer(done, total)` follows the
// layers (one forward pass over `inputs` each). Returns the number of layers.
int calibrate_batchnorm(models::Network& network, const torch::Tensor& inputs, int64_t chunk = 64,
                        const std::function<void(int64_t, int64_t)>& on_layer = {});

// Everything a training step needs besides the batch.
struct StepContext {
  models::Network* network = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
  const std::vector<ParameterGroup>* groups = nullptr;
  const LrSchedule* schedule = nullptr;
  double peak_lr = 1e-3;
  double clip_grad = 0;
  double label_smoothing = 0;
  double focal_gamma = 0;       // 0: cross-entropy
  torch::Tensor class_weights;  // [K] on the device, or undefined
  std::optional<torch::ScalarType> amp;
  LossScaler* scaler = nullptr;
};

// Running training statistics of an epoch.
struct EpochStats {
  double loss_sum = 0;
  double correct = 0;
  int64_t samples = 0;
  int64_t steps = 0;
  double lr = 0;  // rate of the last step (group 0, i.e. scale 1 when stages share one rate)
  double loss() const { return samples ? loss_sum / samples : 0; }
  double accuracy() const { return samples ? correct / samples : 0; }
};

// One optimizer step at schedule step `step` on `inputs` (already normalized; features for the
// head phase) with `targets` [N, K] soft; `forward` maps inputs to logits.
void train_step(StepContext& context, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                const torch::Tensor& inputs, const torch::Tensor& targets, int64_t step, EpochStats& stats);

// Device-side input preparation for training batches.
struct TrainInput {
  torch::Device device = torch::kCPU;
  int64_t input_size = 224;
  std::vector<float> mean, std;
  bool channels_last = false;
  bool augment = true;
  AugmentOptions augment_options;
  int64_t num_classes = 2;
  uint64_t seed = 0;
};

// uint8 batch -> (normalized float input, soft targets), augmented with seed (seed, epoch, step).
std::pair<torch::Tensor, torch::Tensor> prepare_train_batch(const TrainInput& input, const data::Batch& batch,
                                                            int64_t epoch, int64_t step);

// Logits of every tile of `loader` (epoch 0 order; unshuffled loaders give file order) with
// their labels, in eval mode, on the CPU.
struct Predictions {
  torch::Tensor logits;  // float [N, K]
  torch::Tensor labels;  // int64 [N]
};
Predictions predict_loader(models::Network& network, data::TileLoader& loader, const infer::Preprocessor& preprocess,
                           std::optional<torch::ScalarType> amp, const std::function<void(int64_t, int64_t)>& on_batch);

// Pooled features of `loader`'s epoch 0 (eval mode), on the device, with labels; with
// `every_tile_once`, of every tile once in input order whatever the loader's sampler.
struct FeatureSet {
  torch::Tensor features;  // float [N, D]
  torch::Tensor labels;    // int64 [N]
};
FeatureSet cache_features(models::Network& network, data::TileLoader& loader, const infer::Preprocessor& preprocess,
                          std::optional<torch::ScalarType> amp, const std::function<void(int64_t, int64_t)>& on_batch,
                          bool every_tile_once = false);

}  // namespace satx::train::detail
