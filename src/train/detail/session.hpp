#pragma once
// Everything one training run holds: data, loaders, network, optimizer and the epoch loops,
// set up from TrainOptions (a fresh run) or from a run's config.json (a resume).

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "satx/core/context.hpp"
#include "satx/data/dataset.hpp"
#include "satx/data/loader.hpp"
#include "satx/eval/threshold.hpp"
#include "satx/models/network.hpp"
#include "satx/infer/preprocess.hpp"
#include "satx/train/options.hpp"
#include "satx/train/schedule.hpp"
#include "satx/train/weight_average.hpp"
#include "train/detail/loops.hpp"
#include "train/detail/run_files.hpp"

namespace satx::train::detail {

class Session {
 public:
  // `saved_config` (config.json of the run being resumed) fixes classes, normalization and
  // input size; the network's tensors then come from state.pt, not from weights files.
  Session(const TrainOptions& options, const Context& context, const nlohmann::json* saved_config);
  ~Session();

  // config.json: every option and every value resolved from data, model and weights.
  nlohmann::json config() const;
  const std::vector<std::string>& classes() const { return classes_; }
  // The options as resolved for this run (a random initialization turns phase 1 off and
  // BatchNorm training on).
  const TrainOptions& options() const { return options_; }
  // True when the backbone starts from random initialization (no weights, no -from).
  bool random_init() const { return random_init_; }
  models::Network& network() { return *network_; }
  // The averaged weights of phase 2 under -ema (what is validated and saved), else nullptr.
  models::Network* average() { return average_.get(); }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  spdlog::logger& log() const { return *context_.log; }
  void emit(const ProgressEvent& event) const;

  // Freezes/unfreezes parameters for `phase` ("head" or "full"), builds its optimizer, and for
  // the head phase with head_cache computes the pooled features of train and valid once. A
  // `fresh` full phase under train_bn first calibrates pretrained BatchNorm (a mid-phase resume
  // restores the calibrated tensors from state.pt instead).
  void begin_phase(const std::string& phase, bool fresh = true);
  void end_phase(const std::string& phase);
  int64_t steps_per_epoch(const std::string& phase) const;

  EpochStats train_epoch(const std::string& phase, int epoch, int epochs, int global_epoch, const LrSchedule& schedule,
                         double peak_lr);
  // val_loss, val_accuracy, val_macro_f1, val_classes_predicted (and val_auc, val_ap and
  // val_positive_f1 for two classes).
  nlohmann::json validate(const std::string& phase);
  // The latest validate() becomes the best epoch's (for choosing the threshold at the end).
  void keep_best_validation() { best_validation_ = last_validation_; }
  // detail::chance_level on the validation split (the floor of the collapse guard).
  double chance_level(const std::string& monitor) const;
  // Classes with at least one validation tile.
  int64_t classes_in_validation() const;
  // Copies the weights (and the average's) in memory; restore_snapshot() puts them back and
  // starts the optimizer afresh (the collapse guard's rollback).
  void take_snapshot();
  void restore_snapshot();
  // The decision threshold per -choose-threshold on the best epoch's validation scores (the
  // model at `model_path` is scored when a resume lost them); nullopt when off or impossible.
  std::optional<eval::ThresholdPoint> choose_threshold(const std::filesystem::path& model_path);
  // Writes the network as a satx model file whose training summary includes `line`.
  void save_model(const std::filesystem::path& path, const nlohmann::json& line, const std::string& kind);
  // Scores the test split with the model file at `model_path`: test_loss, test_accuracy, ...
  nlohmann::json test(const std::filesystem::path& model_path);

  // For lr-find: one training step at an explicit rate on the next training batch.
  double lr_find_step(double lr, int64_t step);

 private:
  void load_data(const nlohmann::json* saved_config);
  void build_network(const nlohmann::json* saved_config);
  void build_loaders();
  void set_class_weights();
  // Turns every "auto" of the recipe (sampler, loss, monitor, threshold) into a value for this
  // data: rare-positive two-class data gets balanced batches, val_ap and an F1 threshold.
  void resolve_recipe();
  void build_optimizer(bool head);
  // Rewrites pretrained BatchNorm around the statistics of bn_calibration training tiles.
  void calibrate_batchnorm_layers();
  // Phase 2 training mode: BatchNorm in inference mode, or (train_bn) only in frozen stages.
  void set_full_training_mode();
  // What train_step needs for this phase's optimizer, at `peak_lr` under `schedule`.
  StepContext make_step_context(const LrSchedule& schedule, double peak_lr);
  std::unique_ptr<data::TileLoader> make_loader(const data::Dataset& dataset, bool shuffle) const;
  // Metrics of `predictions`; two-class labels decided at `threshold` when given.
  nlohmann::json metrics_json(const Predictions& predictions, const std::string& prefix,
                              std::optional<double> threshold = std::nullopt) const;
  bool cached_head(const std::string& phase) const { return phase == "head" && options_.head_cache; }
  // The network validation and checkpoints use: the average (with the trained network's buffers)
  // when there is one.
  models::Network& evaluated();
  void stage_progress(const std::string& label, int64_t done, int64_t total, double seconds,
                      const std::string& unit = "batch") const;

  TrainOptions options_;
  Context context_;
  std::vector<std::string> classes_;
  data::Dataset train_set_, valid_set_, test_set_;
  bool has_test_ = false;
  bool random_init_ = false;
  bool rare_positive_ = false;
  data::Sampler sampler_ = data::Sampler::Shuffle;
  Predictions last_validation_, best_validation_;
  std::vector<torch::Tensor> snapshot_;
  std::shared_ptr<models::Network> network_;
  std::shared_ptr<models::Network> average_;
  std::unique_ptr<WeightAverage> averager_;  // keeps average_ up to date in phase 2 under -ema
  std::string arch_;
  int input_size_ = 224;
  int loader_size_ = 224;
  std::vector<float> mean_, std_;
  nlohmann::json weights_info_ = nlohmann::json::object();
  std::optional<torch::ScalarType> amp_;
  torch::Tensor class_weights_;
  std::unique_ptr<data::TileLoader> train_loader_, valid_loader_;
  std::unique_ptr<infer::Preprocessor> preprocess_;
  TrainInput train_input_;

  // Per phase
  std::vector<ParameterGroup> groups_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<LossScaler> scaler_;
  FeatureSet train_features_, valid_features_;
  // lr-find's position in the training stream
  int64_t lr_find_epoch_ = 0;
  bool lr_find_started_ = false;
};

}  // namespace satx::train::detail
