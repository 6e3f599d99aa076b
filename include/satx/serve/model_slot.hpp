#pragma once
/// The model `satx serve` answers with: one loaded, warmed-up model file behind an inference
/// engine, and the slot that swaps it for a new one atomically (SIGHUP or a changed file).

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "satx/infer/engine.hpp"
#include "satx/io/image.hpp"

namespace satx::serve {

/// One loaded model. Immutable once published, except its engine, which only the batcher's
/// thread runs.
struct ServedModel {
  std::unique_ptr<infer::InferenceEngine> engine;
  std::filesystem::path path;
  std::string version;                   ///< the first 12 hex digits of the file's SHA-256
  std::optional<double> threshold;       ///< the stored decision threshold (two classes)
  int max_input_size = 0;                ///< the largest size the engine scores at
  std::filesystem::file_time_type mtime;
  std::chrono::system_clock::time_point loaded_at;

  const models::ModelMetadata& metadata() const { return engine->metadata(); }
};

/// Loads `path` onto `device` behind an engine with `options` and runs one warm-up batch, so
/// the first request does not pay for oneDNN's or cuDNN's first-call set-up. BadData naming
/// the file for a malformed model.
std::shared_ptr<const ServedModel> load_served_model(const std::filesystem::path& path, torch::Device device,
                                                     const infer::EngineOptions& options);

/// Decodes an image body for `model`: the model's channels, at its own size unless its longer
/// side exceeds the largest input size (then shrunk to it, square), as `satx predict`'s loader
/// does, so both give a tile the same probabilities. uint8 [C, H, W]. The error string is the
/// reason (empty on success); `too_large` tells a pixel-limit refusal from a corrupt image.
struct DecodedBody {
  torch::Tensor tile;
  std::string error;
  bool too_large = false;
};
DecodedBody decode_body(const ServedModel& model, const std::string& body, int64_t max_pixels);

/// Holds the current model; readers take a snapshot, a reload replaces it in one step.
class ModelSlot {
 public:
  ModelSlot(std::shared_ptr<const ServedModel> model) : model_(std::move(model)) {}
  std::shared_ptr<const ServedModel> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return model_;
  }
  void set(std::shared_ptr<const ServedModel> model) {
    std::lock_guard<std::mutex> lock(mutex_);
    model_ = std::move(model);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const ServedModel> model_;
};

}  // namespace satx::serve
