#pragma once
/// Training augmentation as batched tensor ops on the training device: the 8 dihedral
/// transforms, random resized crops (one grid_sample for the batch), brightness/contrast/
/// saturation jitter, mixup and cutmix. The random parameters of a batch come from a CPU
/// torch::Generator seeded from (seed, epoch, step), so a batch's augmentation is the same on
/// any device and after a resume.

#include <cstdint>

#include <torch/types.h>

namespace satx::train {

/// What augment_batch does; each transform has a switch or a strength where 0 turns it off.
/// The defaults are satx train's.
struct AugmentOptions {
  /// false: no transform at all (the tiles are only resized).
  bool enabled = true;
  /// Random flips and 90-degree rotations (square tiles only).
  bool dihedral = true;
  /// Random resized crop keeps between this fraction of the area and all of it (1 = off).
  double crop_scale = 0.8;
  /// Aspect ratios of the crop box range over [1/crop_ratio, crop_ratio] (log-uniform).
  double crop_ratio = 4.0 / 3.0;
  /// Brightness, contrast and saturation factors drawn from [1 - jitter, 1 + jitter] (0 = off).
  double jitter = 0.1;
  /// Mixup and CutMix Beta(alpha, alpha) parameters (0 = off); with both on, each batch uses one at random.
  double mixup = 0.0;
  double cutmix = 0.0;
};

/// An augmented batch: images in [0, 1] and soft targets (rows sum to 1).
struct AugmentedBatch {
  torch::Tensor images;   ///< float [N, C, S, S] on the input's device
  torch::Tensor targets;  ///< float [N, num_classes]
};

/// A 64-bit seed mixed from a run seed and the position of a batch (splitmix64).
uint64_t batch_seed(uint64_t seed, int64_t epoch, int64_t step);


/// Crops box i = (center x, center y, width, height) of `boxes` [N, 4] (normalized to [-1, 1]
/// coordinates, so (0, 0, 2, 2) is the whole tile) from each image, resampled bilinearly to `size`.
torch::Tensor crop_and_resize(const torch::Tensor& images, const torch::Tensor& boxes, int64_t size);

/// Bilinear resize of a float batch to `size` x `size` (antialiased when shrinking); a no-op at the same size.
torch::Tensor resize_batch(const torch::Tensor& images, int64_t size);

/// Multiplies brightness, contrast and saturation by factors [N, 3] on [0, 1] images, clamped.
torch::Tensor color_jitter(const torch::Tensor& images, const torch::Tensor& factors);

/// Checks `options` (Usage error naming the option field).
void validate(const AugmentOptions& options);

/// Augments float [0, 1] `images` with int64 `labels` [N] into `output_size` square tiles (0:
/// the input size); `num_classes` sizes the targets.
AugmentedBatch augment_batch(const torch::Tensor& images, const torch::Tensor& labels, int64_t num_classes,
                             const AugmentOptions& options, int64_t output_size, uint64_t seed);

}  // namespace satx::train
