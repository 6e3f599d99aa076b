#pragma once
/// The optimizer factory: parameter groups (weight decay only on weights, discriminative rates
/// per stage) and SGD/Adam/AdamW built from them.

#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "satx/models/network.hpp"

namespace satx::train {

/// Parameters that share a learning-rate multiplier and a weight-decay setting.
struct ParameterGroup {
  std::string name;                   ///< e.g. "features.3/decay", for logs
  std::vector<torch::Tensor> parameters;
  double lr_scale = 1.0;              ///< multiplier of the phase's peak rate
  bool decay = true;                  ///< false for biases and normalization parameters
};

/// How to group a network's trainable parameters.
struct GroupingOptions {
  /// Only the head (phase 1).
  bool head_only = false;
  /// Each earlier stage's rate is this times the next one's (1 = one rate for all).
  double lr_decay_per_stage = 1.0;
  /// Leading stages to leave out (their parameters are frozen by the caller).
  int freeze_stages = 0;
};

/// Groups the parameters that require gradients. Parameters whose name matches no stage of
/// the manifest count as the last stage.
std::vector<ParameterGroup> group_parameters(models::Network& network, const GroupingOptions& options);

/// The optimizers satx builds.
enum class OptimizerKind { Sgd, Adam, AdamW };

/// "sgd", "adam" or "adamw"; a Usage error naming `flag` otherwise.
OptimizerKind parse_optimizer_kind(const std::string& text, const std::string& flag = "-optimizer");
const char* optimizer_kind_name(OptimizerKind kind);

/// What kind of optimizer and its hyper-parameters (the peak rate is the phase's).
struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::AdamW;
  double momentum = 0.9;       ///< sgd
  bool nesterov = true;        ///< sgd
  double weight_decay = 1e-4;  ///< decoupled for adamw, L2 for sgd and adam; groups with decay=false get 0
  double clip_grad = 0.0;      ///< clip the gradient norm to this before each step (0 = off)
};

/// Builds the optimizer over `groups` (same order) at peak rate `lr`. Usage error naming the
/// option field for a bad value.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<ParameterGroup>& groups,
                                                        const OptimizerOptions& options, double lr);

/// Sets group i's rate to `peak_lr * groups[i].lr_scale * factor`.
void set_learning_rates(torch::optim::Optimizer& optimizer, const std::vector<ParameterGroup>& groups, double peak_lr,
                        double factor);

}  // namespace satx::train
