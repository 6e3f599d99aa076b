#pragma once
/// The two-phase transfer-learning trainer behind `satx train` and `satx finetune`, and the
/// learning-rate range test behind `satx lr-find`.
///
/// Phase 1 ("head") trains a new classification head on a frozen backbone (BatchNorm in
/// inference mode), by default on pooled features computed once. Phase 2 ("full") trains the
/// whole network, BatchNorm kept in inference mode unless asked otherwise. Every epoch is
/// validated; the run directory receives best/last model files, state.pt for resume,
/// config.json, metrics.jsonl, TensorBoard events and classes.txt.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/core/context.hpp"
#include "satx/train/options.hpp"

namespace satx::train {

/// What a training run produced.
struct TrainResult {
  std::filesystem::path run_dir;
  std::filesystem::path best_model;  ///< best.safetensors (by options.monitor)
  std::filesystem::path last_model;  ///< last.safetensors
  nlohmann::json best;               ///< the best epoch's metrics line
  nlohmann::json last;               ///< the last epoch's metrics line
  nlohmann::json test;               ///< test metrics of the best model (null without -test)
  nlohmann::json threshold;          ///< the decision threshold chosen on validation and its figures (null when none)
  int epochs_run = 0;                ///< epochs trained by this call (resumed ones excluded)
  bool resumed = false;
  bool stopped_early = false;
  double seconds = 0;                ///< wall time of this call
};

/// Trains per `options` (finetunes when `options.from` is set). Resumes when the run directory
/// holds a state.pt of an unfinished run (`options.resume` only makes a missing one an error).
/// Usage errors name the option at fault; BadData names the file.
TrainResult train(const TrainOptions& options, const Context& context);

/// The learning-rate range test's outcome.
struct LrFindResult {
  std::vector<double> learning_rates;
  std::vector<double> losses;           ///< raw batch losses
  std::vector<double> smoothed_losses;  ///< exponential moving average, bias-corrected
  double suggested = 0;                 ///< the rate of steepest descent of the smoothed loss
  double min_loss_lr = 0;               ///< the rate at the smoothed minimum
  bool diverged = false;                ///< stopped early because the loss exploded
};

/// Sets `suggested` and `min_loss_lr` from the curve in `result`: the rate of steepest descent of
/// the smoothed loss against log(rate), looked for before the minimum (past it the curve climbs
/// into divergence) and after the first few noisy points; a tenth of the minimum's rate when
/// the loss never falls.
void suggest_learning_rate(LrFindResult& result);

/// Runs the range test on the whole network as phase 2 would train it (after training the
/// head on cached features for `head_epochs` when the model starts from ImageNet weights).
LrFindResult lr_find(const TrainOptions& options, const Context& context);

/// Writes the curve as CSV (lr,loss,smoothed_loss) and a PNG plot (log-scale rate axis, the
/// suggestion marked); either path may be empty.
void write_lr_find_outputs(const LrFindResult& result, const std::filesystem::path& csv, const std::filesystem::path& png);

}  // namespace satx::train
