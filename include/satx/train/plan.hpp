#pragma once
/// A training run resolved before any work starts: every option checked, and every "auto"
/// decided for this data, model and weights. The plan is immutable; config.json records it,
/// and a resumed run is rebuilt from that record rather than from the command line.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "satx/core/context.hpp"
#include "satx/data/dataset.hpp"
#include "satx/data/sampler.hpp"
#include "satx/eval/threshold.hpp"
#include "satx/models/model_file.hpp"
#include "satx/train/options.hpp"

namespace satx::train {

/// Where the network's starting tensors come from.
struct WeightsSource {
  std::string path;         ///< an ImageNet weights file; empty with random init or `from`
  std::string from;         ///< finetune: the satx model file
  bool new_head = false;    ///< finetune: the model's head is replaced (different classes)
  bool random_init = false; ///< no weights at all
  std::string note;         ///< how the weights were identified, for config.json and the log
};

/// Everything a run needs to know before it builds anything.
struct TrainPlan {
  /// The options with every auto resolved: sampling.sampler, loss.kind and checkpoints.monitor
  /// are set; checkpoints.choose_threshold is not "auto"; phases.head_epochs and
  /// phases.freeze_stages are >= 0; phases.train_bn is on for random initialization.
  TrainOptions options;
  data::Dataset train, valid, test;  ///< labelled in `classes` order; test empty without -test
  bool has_test = false;
  std::vector<std::string> classes;  ///< the logit order
  bool rare_positive = false;        ///< two classes, the smaller under options.sampling.rare_share
  std::string arch;
  int input_size = 224;
  int loader_tile_size = 224;        ///< the square size tiles are decoded to on the CPU
  std::vector<float> mean, std;      ///< the normalization of the weights
  WeightsSource weights;
  std::vector<float> class_weights;  ///< per class; empty = unweighted
  std::optional<eval::ThresholdCriterion> threshold;  ///< chosen on validation at the end (two classes)
  std::optional<torch::ScalarType> autocast;          ///< the forward passes' precision (nullopt: float32)
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;

  Monitor monitor() const { return *options.checkpoints.monitor; }
  data::Sampler sampler() const { return *options.sampling.sampler; }
  LossKind loss() const { return *options.loss.kind; }
  double lr() const { return *options.phases.lr; }  ///< phase 2 peak rate
  /// The metadata a model file of this run carries (training summary left to the caller).
  models::ModelMetadata model_metadata() const;
  /// config.json: {"options": every resolved option, "resolved": what the data, model and
  /// weights decided}.
  nlohmann::json to_json() const;
};

/// Resolves `options` for a fresh run: discovers the data (and `-add-train` folders), orders the
/// classes (a finetuned model's order when the sets agree), picks input size, normalization,
/// weights, the rare-positive recipe and class weights, and logs what it decided. Usage errors
/// name the option field; BadData names the file or folder.
TrainPlan make_plan(const TrainOptions& options, const Context& context);

/// The plan of a run being resumed, from its config.json; `given` supplies only what may differ
/// on a resume (progress callback, log_every, out, resume).
TrainPlan plan_from_config(const nlohmann::json& config, const TrainOptions& given, const std::string& origin,
                           const Context& context);

}  // namespace satx::train
