#pragma once
/// `state.pt`: everything needed to continue an interrupted run exactly where its last
/// completed epoch left it (model tensors, optimizer state, schedule, early stopping, history),
/// in LibTorch's archive format, written atomically.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace satx::train {

/// The scalar part of the resume state.
struct TrainState {
  std::string phase = "head";  ///< phase of the last completed epoch: "head" or "full"
  int epoch = 0;               ///< epochs completed in `phase`
  bool finished = false;       ///< the run ended (all epochs, or early stopping)
  /// Schedule and early-stopping state, metric history, timings: whatever the trainer needs.
  nlohmann::json trainer = nlohmann::json::object();
};

/// Writes `state`, every parameter and buffer of `model`, `optimizer`'s state and the averaged
/// weights `average` (each when given) to `path` atomically.
void save_train_state(const std::filesystem::path& path, const TrainState& state, torch::nn::Module& model,
                      const torch::optim::Optimizer* optimizer, torch::nn::Module* average = nullptr);

/// Reads the scalar state only (to decide how to rebuild the model and optimizer).
/// BadData naming `path` when it is not a satx state file.
TrainState read_train_state(const std::filesystem::path& path);

/// Restores `model`'s tensors and, when given and the file has them, `optimizer`'s state and the
/// averaged weights into `average`. BadData naming `path` and the tensor when they do not fit.
void restore_train_state(const std::filesystem::path& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                         torch::nn::Module* average = nullptr);

}  // namespace satx::train
