#pragma once
// What one training run holds, built from its plan: the network (and its weight average),
// loaders, the inference engine that validates it, and per phase the optimizer. The Trainer
// (trainer.cpp) sequences its phases and epochs.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "satx/core/context.hpp"
#include "satx/data/loader.hpp"
#include "satx/eval/threshold.hpp"
#include "satx/infer/engine.hpp"
#include "satx/models/network.hpp"
#include "satx/train/plan.hpp"
#include "satx/train/schedule.hpp"
#include "satx/train/weight_average.hpp"
#include "train/detail/batches.hpp"
#include "train/detail/step.hpp"

namespace satx::train::detail {

// The two phases: a new head on the frozen backbone, then the whole network.
enum class Phase { Head, Full };
// "head" or "full", as metrics.jsonl and state.pt spell them.
const char* phase_name(Phase phase);

// Class probabilities of a split with their labels, on the CPU.
struct Scores {
  torch::Tensor probabilities;  // float [N, K]
  torch::Tensor labels;         // int64 [N]
};

class Session {
 public:
  // With `resuming`, the network's tensors come from state.pt afterwards, not from weights files.
  Session(const TrainPlan& plan, const Context& context, bool resuming);
  ~Session();

  const TrainPlan& plan() const { return plan_; }
  models::Network& network() { return *network_; }
  // The averaged weights of phase 2 under -ema (what is validated and saved), else nullptr.
  models::Network* average() { return average_.get(); }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  spdlog::logger& log() const { return *context_.log; }
  void emit(const ProgressEvent& event) const;

  // Freezes/unfreezes parameters for `phase`, builds its optimizer, and for a cached head phase
  // computes the pooled features of train and valid once. A `fresh` full phase under train_bn
  // first calibrates pretrained BatchNorm (a mid-phase resume restores it from state.pt).
  void begin_phase(Phase phase, bool fresh = true);
  void end_phase(Phase phase);
  int64_t steps_per_epoch(Phase phase) const;
  EpochStats train_epoch(Phase phase, int epoch, int epochs, int global_epoch, const LrSchedule& schedule, double peak_lr);

  // val_loss, val_accuracy, val_macro_f1, val_classes_predicted (and val_auc, val_ap and
  // val_positive_f1 for two classes), through the inference engine.
  nlohmann::json validate(Phase phase);
  // The latest validate() becomes the best epoch's (for choosing the threshold at the end).
  void keep_best_validation() { best_validation_ = last_validation_; }
  // detail::chance_level on the validation split (the floor of the collapse guard).
  double chance_level(Monitor monitor) const;
  int64_t classes_in_validation() const;
  // Copies the weights (and the average's) in memory; restore_snapshot() puts them back and
  // starts the optimizer afresh (the collapse guard's rollback).
  void take_snapshot();
  void restore_snapshot();
  // The decision threshold the plan asks for, on the best epoch's validation scores (the model
  // at `model_path` is scored when a resume lost them); nullopt when off or impossible.
  std::optional<eval::ThresholdPoint> choose_threshold(const std::filesystem::path& model_path);

  // Writes the evaluated network as a satx model file whose training summary includes `line`.
  void save_model(const std::filesystem::path& path, const nlohmann::json& line, const std::string& kind);
  // Scores the test split with the model file at `model_path` exactly as `satx eval` does, and
  // writes test-metrics.json (eval -json's schema) and test-predictions.csv (eval -predictions)
  // into `run_dir`; returns test_loss, test_accuracy, ... for metrics.jsonl.
  nlohmann::json test(const std::filesystem::path& model_path, const std::filesystem::path& run_dir);

  // For lr-find: one training step at an explicit rate on the next training batch.
  double lr_find_step(double lr, int64_t step);

 private:
  void build_loaders();
  void build_optimizer(Phase phase);
  void calibrate_batchnorm_layers();
  // Phase 2 training mode: BatchNorm in inference mode, or (train_bn) only in frozen stages.
  void set_full_training_mode();
  StepContext make_step_context(const LrSchedule& schedule, double peak_lr);
  std::unique_ptr<data::TileLoader> make_loader(const data::Dataset& dataset, bool shuffle) const;
  nlohmann::json metrics_json(const Scores& scores, const std::string& prefix, std::optional<double> threshold = {}) const;
  bool cached_head(Phase phase) const { return phase == Phase::Head && plan_.options.phases.head_cache; }
  // The engine validation and checkpoints use: the average's under -ema.
  infer::InferenceEngine& evaluated();
  void stage_progress(const std::string& label, int64_t done, int64_t total, double seconds,
                      const std::string& unit = "batch") const;
  void cache_head_features();
  Scores score_split(infer::InferenceEngine& engine, data::TileLoader& loader, const std::string& label);

  const TrainPlan plan_;
  Context context_;
  std::shared_ptr<models::Network> network_;
  std::shared_ptr<models::Network> average_;
  std::unique_ptr<infer::InferenceEngine> engine_, average_engine_;
  std::unique_ptr<WeightAverage> averager_;  // keeps average_ up to date in phase 2 under -ema
  torch::Tensor class_weights_;
  std::unique_ptr<data::TileLoader> train_loader_, valid_loader_;
  TrainInput train_input_;
  Scores last_validation_, best_validation_;
  std::vector<torch::Tensor> snapshot_;

  // Per phase
  std::vector<ParameterGroup> groups_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<LossScaler> scaler_;
  // The cached head phase's pooled features.
  torch::Tensor train_features_, train_feature_labels_, valid_features_, valid_feature_labels_;
  // lr-find's position in the training stream
  int64_t lr_find_epoch_ = 0;
  bool lr_find_started_ = false;
};

}  // namespace satx::train::detail
