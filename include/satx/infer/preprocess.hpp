#pragma once
/// The one place where decoded tiles become network input, shared by `eval` and `predict`
/// (and matching what training feeds the network): uint8 NCHW -> float on the device,
/// bilinear resize to the model's input size when tiles differ, /255, (x - mean) / std.

#include <string>
#include <vector>

#include <torch/types.h>

namespace satx::infer {

/// How to turn decoded tiles into network input.
struct PreprocessOptions {
  /// Square network input size (metadata.input_size).
  int input_size = 224;
  /// Per-channel mean and std on [0, 1] inputs (metadata.mean / metadata.std).
  std::vector<float> mean;
  std::vector<float> std;
  torch::Device device = torch::kCPU;
  /// Return a channels-last tensor (what oneDNN on CPU and tensor cores on CUDA prefer).
  bool channels_last = false;
};

/// Normalizes batches; the constants live on the device, built once.
class Preprocessor {
 public:
  /// Usage error naming the values when mean/std are empty, mismatched or std has a zero.
  explicit Preprocessor(PreprocessOptions options);
  /// uint8 [n, C, H, W] on any device (a pinned CPU tensor is copied asynchronously) ->
  /// [n, C, input_size, input_size] on the device. C must equal mean.size().
  torch::Tensor operator()(const torch::Tensor& images) const;
  /// Float images on [0, 1] (augmented training batches), already at the input size, on the
  /// device -> (x - mean) / std in the configured layout.
  torch::Tensor normalize(const torch::Tensor& unit_images) const;
  const PreprocessOptions& options() const { return options_; }

 private:
  PreprocessOptions options_;
  torch::Tensor scale_;  // 1 / (255 std), [1, C, 1, 1] float32 on the device
  torch::Tensor shift_;  // -mean / std
  torch::Tensor unit_scale_;  // 1 / std
};

}  // namespace satx::infer
