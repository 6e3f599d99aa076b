#pragma once
/// The one inference engine: decoded uint8 tiles -> preprocessing -> forward at one precision ->
/// test-time augmentation -> class probabilities. Training validation and test, `eval`,
/// `predict` (and `serve`) all score through it, so a tile gets the same probabilities whichever
/// command scores it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "satx/infer/precision.hpp"
#include "satx/infer/preprocess.hpp"
#include "satx/models/model_file.hpp"
#include "satx/models/network.hpp"

namespace satx::infer {

/// How to run the network.
struct EngineOptions {
  /// Forward-pass precision (the network itself stays float32).
  Precision precision = Precision::Auto;
  /// Channels-last activations: oneDNN's fast path on CPU (about 2x for MobileNetV2's
  /// depthwise convolutions) and tensor cores on CUDA.
  bool channels_last = true;
  /// Average the class probabilities of the 8 dihedral views (flips and 90-degree rotations).
  bool tta = false;
  /// Score each tile at these multiples of the model's input size and average the class
  /// probabilities (with `tta`, of every view at every size). {1} is the model's size only.
  std::vector<double> tta_scales = {1.0};
};

/// A network ready to score batches.
class InferenceEngine {
 public:
  /// Runs `network` as it is (a training network: not moved, not converted; the caller keeps
  /// it on `device`), normalizing inputs as `metadata` says (input_size, mean, std). Usage
  /// error naming the value for bad options.
  InferenceEngine(std::shared_ptr<models::Network> network, models::ModelMetadata metadata, torch::Device device,
                  EngineOptions options = {});
  /// A loaded model file: moved to `device` (and channels-last) here.
  InferenceEngine(models::LoadedModel model, torch::Device device, EngineOptions options = {});

  /// Class probabilities, float32 on the CPU, [n, classes], for uint8 [n, C, H, W] tiles
  /// (eval mode, no gradients).
  torch::Tensor probabilities(const torch::Tensor& images);
  /// Pooled backbone features of the model-size view (no TTA), float32 on the device.
  torch::Tensor features(const torch::Tensor& images);

  const models::ModelMetadata& metadata() const { return metadata_; }
  const EngineOptions& options() const { return options_; }
  models::Network& network() { return *network_; }
  torch::Device device() const { return device_; }
  /// The autocast dtype forward passes use (nullopt: float32).
  std::optional<torch::ScalarType> autocast() const { return autocast_; }
  /// The model-size preprocessing (training normalizes its augmented batches with it).
  const Preprocessor& preprocessor() const { return preprocessors_.front(); }
  /// The network input sizes each tile is scored at (the model's, or one per TTA scale).
  const std::vector<int>& input_sizes() const { return input_sizes_; }
  /// Forward passes per tile: input sizes times 8 with dihedral TTA.
  int views() const { return static_cast<int>(input_sizes_.size()) * (options_.tta ? 8 : 1); }

 private:
  std::shared_ptr<models::Network> network_;
  models::ModelMetadata metadata_;
  torch::Device device_;
  EngineOptions options_;
  std::optional<torch::ScalarType> autocast_;
  std::vector<int> input_sizes_;
  std::vector<Preprocessor> preprocessors_;  // one per input size; the model's first
};

/// Input sizes for `scales` (each > 0) of `input_size`, rounded, in order, duplicates removed;
/// a Usage error names a scale that is not positive or gives a size under 8 pixels.
std::vector<int> scaled_input_sizes(int input_size, const std::vector<double>& scales);

/// The decision threshold for a model: `override` (a -threshold flag) or the model's stored one,
/// for two-class models; nullopt otherwise. Usage error naming -threshold when an override is
/// given to a model with other than two classes or lies outside [0, 1].
std::optional<double> resolve_threshold(const models::ModelMetadata& metadata, std::optional<double> override);

/// Labels for probabilities [n, classes]: for two classes with a threshold, class 1 (the
/// positive class) when its probability >= threshold, else 0; otherwise the most probable
/// class (the lowest index on ties). int64 [n].
torch::Tensor decide_labels(const torch::Tensor& probabilities, std::optional<double> threshold);

}  // namespace satx::infer
