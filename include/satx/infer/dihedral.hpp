#pragma once
/// The dihedral group of a square tile (flips and 90-degree rotations), for training
/// augmentation and test-time augmentation alike: overhead imagery has no "up".

#include <torch/types.h>

namespace satx::infer {

/// Element `k` (0..7) of the group applied to a square NCHW batch: bit 0 mirrors left-right,
/// bit 1 top-bottom, bit 2 then transposes. 0 is the identity; the 8 values are the 8 elements.
/// Exact pixel moves, no resampling.
torch::Tensor dihedral_view(const torch::Tensor& images, int k);

/// Per-sample elements: `codes` [N] (values 0..7, same convention) for images [N, C, S, S].
torch::Tensor dihedral_transform(const torch::Tensor& images, const torch::Tensor& codes);

}  // namespace satx::infer
