#pragma once
/// Running a loaded model for inference: preprocessing, precision and memory format, test-time
/// augmentation, probabilities and the label decision. Shared by `eval` and `predict`, so both
/// score a tile identically.

#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "satx/models/model_file.hpp"
#include "satx/infer/preprocess.hpp"

namespace satx::infer {

/// How to run the network.
struct InferenceOptions {
  /// "auto" (float16 on CUDA, float32 on CPU), "float32", "float16" or "bfloat16".
  std::string precision = "auto";
  /// Channels-last activations: oneDNN's fast path on CPU (about 2x for MobileNetV2's
  /// depthwise convolutions) and tensor cores on CUDA.
  bool channels_last = true;
  /// Average the class probabilities of the 8 dihedral views (flips and 90-degree rotations).
  bool tta = false;
  /// Score each tile at these multiples of the model's input size and average the class
  /// probabilities (with `tta`, of every view at every size). {1} is the model's size only.
  std::vector<double> tta_scales = {1.0};
};

/// A model ready to score batches. Converts the network in place (dtype, memory format), so
/// the LoadedModel handed in should not be trained afterwards.
class InferenceEngine {
 public:
  /// Usage error naming the value for an unknown precision or float16 on CPU.
  InferenceEngine(models::LoadedModel model, torch::Device device, InferenceOptions options = {});
  /// Class probabilities, float32 on the CPU, [n, classes], for uint8 [n, C, H, W] tiles.
  torch::Tensor probabilities(const torch::Tensor& images);
  const models::ModelMetadata& metadata() const { return model_.metadata; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }
  /// The network input sizes each tile is scored at (the model's, or one per TTA scale).
  const std::vector<int>& input_sizes() const { return input_sizes_; }
  /// Forward passes per tile: input sizes times 8 with dihedral TTA.
  int views() const { return static_cast<int>(input_sizes_.size()) * (options_.tta ? 8 : 1); }

 private:
  models::LoadedModel model_;
  torch::Device device_;
  InferenceOptions options_;
  torch::ScalarType dtype_ = torch::kFloat;
  std::vector<int> input_sizes_;
  std::vector<Preprocessor> preprocessors_;  // one per input size
};

/// Input sizes for `scales` (each > 0) of `input_size`, rounded, in order, duplicates removed;
/// a Usage error names a scale that is not positive or gives a size under 8 pixels.
std::vector<int> scaled_input_sizes(int input_size, const std::vector<double>& scales);

/// The dtype a precision name means on `device` ("auto": float16 on CUDA, else float32).
torch::ScalarType resolve_precision(const std::string& precision, torch::Device device);

/// View `k` (0..7) of the dihedral group of a square NCHW batch: k % 4 quarter turns,
/// mirrored left-right first when k >= 4. View 0 is the input itself.
torch::Tensor dihedral_view(const torch::Tensor& images, int k);

/// Labels for probabilities [n, classes]: for two classes with a threshold, class 1 (the
/// positive class) when its probability >= threshold, else 0; otherwise the most probable
/// class (the lowest index on ties). int64 [n].
torch::Tensor decide_labels(const torch::Tensor& probabilities, std::optional<double> threshold);

}  // namespace satx::infer
