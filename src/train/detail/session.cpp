#include "train/detail/session.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/eval/metrics.hpp"
#include "satx/models/model_file.hpp"
#include "satx/infer/engine.hpp"
#include "train/detail/collapse.hpp"
#include "train/detail/initial_weights.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace satx::train::detail {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<std::string> paths_of(const data::Dataset& dataset) {
  std::vector<std::string> paths;
  paths.reserve(dataset.samples.size());
  for (const auto& sample : dataset.samples) paths.push_back(sample.path);
  return paths;
}

std::vector<int64_t> labels_of(const data::Dataset& dataset) {
  std::vector<int64_t> labels;
  labels.reserve(dataset.samples.size());
  for (const auto& sample : dataset.samples) labels.push_back(sample.label);
  return labels;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text.empty() ? "(none)" : text;
}

// Normalization for a network whose input channels differ from the weights': RGB statistics
// averaged and repeated (the first convolution is adapted the same way).
std::vector<float> fit_channels(const std::vector<float>& values, int channels) {
  if (static_cast<int>(values.size()) == channels || values.empty()) return values;
  double sum = 0;
  for (float v : values) sum += v;
  return std::vector<float>(channels, static_cast<float>(sum / values.size()));
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters())
    if (parameter.dim() == 4) parameter.set_data(parameter.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

}  // namespace

Session::Session(const TrainOptions& options, const Context& context, const json* saved_config)
    : options_(options), context_(context) {
  if (!context_.log) context_.log = null_logger();
  if (options_.deterministic) {
    at::globalContext().setDeterministicCuDNN(true);
    at::globalContext().setBenchmarkCuDNN(false);
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  } else if (context_.device.is_cuda()) {
    at::globalContext().setBenchmarkCuDNN(true);
  }
  amp_ = resolve_amp(options_.amp, context_.device);
  load_data(saved_config);
  build_network(saved_config);
  resolve_recipe();
  set_class_weights();
  build_loaders();
}

Session::~Session() = default;

void Session::load_data(const json* saved_config) {
  if (options_.train_dir.empty()) throw_usage("-train is required: a folder with one sub-folder per class");
  if (options_.valid_dir.empty()) throw_usage("-valid is required: a folder with the same class sub-folders as -train");
  auto discover = [this](const std::string& root) {
    auto dataset = data::discover_dataset(root);
    for (const auto& warning : dataset.warnings) log().warn("{}: {}", root, warning);
    return dataset;
  };
  train_set_ = discover(options_.train_dir);
  for (const auto& folder : options_.add_train) {
    const int64_t repeated = data::merge(train_set_, discover(folder));
    if (repeated > 0) log().warn("{}: {} file(s) already in the training set, counted once", folder, repeated);
    log().info("added {} to the training set: {} tiles in all", folder, train_set_.samples.size());
  }
  valid_set_ = discover(options_.valid_dir);
  std::vector<const data::Dataset*> splits = {&train_set_, &valid_set_};
  std::vector<std::string> names = {"train", "valid"};
  if (!options_.test_dir.empty()) {
    test_set_ = discover(options_.test_dir);
    has_test_ = true;
    splits.push_back(&test_set_);
    names.push_back("test");
  }
  data::check_same_classes(splits, names);
  if (train_set_.samples.empty()) throw_bad_data("training folder " + options_.train_dir + " has no images");
  if (valid_set_.samples.empty()) throw_bad_data("validation folder " + options_.valid_dir + " has no images");

  classes_ = train_set_.classes;
  if (saved_config) {
    classes_ = saved_config->at("resolved").at("classes").get<std::vector<std::string>>();
  } else if (!options_.from.empty()) {
    const auto metadata = models::read_model_metadata(options_.from);
    const std::set<std::string> model(metadata.classes.begin(), metadata.classes.end());
    const std::set<std::string> given(train_set_.classes.begin(), train_set_.classes.end());
    if (model == given) {
      classes_ = metadata.classes;  // keep the model's logit order
    } else if (!options_.new_head) {
      std::vector<std::string> only_model, only_data;
      std::set_difference(model.begin(), model.end(), given.begin(), given.end(), std::back_inserter(only_model));
      std::set_difference(given.begin(), given.end(), model.begin(), model.end(), std::back_inserter(only_data));
      throw_usage("the classes of " + options_.train_dir + " differ from the model's (" + options_.from +
                  "): only in the model: " + join(only_model) + "; only in the data: " + join(only_data) +
                  ". Pass -new-head to train a new head for the data's classes");
    }
  }
  if (classes_ != train_set_.classes) {
    data::relabel(train_set_, classes_);
    data::relabel(valid_set_, classes_);
    if (has_test_) data::relabel(test_set_, classes_);
  }
}

void Session::build_network(const json* saved_config) {
  const auto num_classes = static_cast<int64_t>(classes_.size());
  if (saved_config) {
    const json& resolved = saved_config->at("resolved");
    arch_ = resolved.at("arch").get<std::string>();
    input_size_ = resolved.at("input_size").get<int>();
    mean_ = resolved.at("mean").get<std::vector<float>>();
    std_ = resolved.at("std").get<std::vector<float>>();
    weights_info_ = resolved.at("weights");
    network_ = models::create_network(arch_, {num_classes, options_.in_channels});
  } else if (!options_.from.empty()) {
    auto loaded = models::load_model_file(options_.from, torch::kCPU);
    network_ = loaded.network;
    const auto& metadata = loaded.metadata;
    arch_ = metadata.arch;
    options_.in_channels = metadata.in_channels;
    input_size_ = options_.input_size > 0 ? options_.input_size : metadata.input_size;
    mean_ = metadata.mean;
    std_ = metadata.std;
    weights_info_ = {{"from", options_.from}, {"new_head", metadata.classes != classes_}};
    if (metadata.classes != classes_) {
      log().info("replacing the head of {} ({} classes) by a new {}-class head", options_.from, metadata.classes.size(),
                 num_classes);
      network_->replace_head(num_classes);
    }
  } else {
    const auto& manifest = models::find_manifest(options_.model);
    arch_ = manifest.arch;
    network_ = models::create_network(arch_, {num_classes, options_.in_channels});
    const auto weights = load_initial_weights(*network_, options_.weights, log());
    input_size_ = options_.input_size > 0 ? options_.input_size : manifest.input_size;
    mean_ = fit_channels(weights.mean, options_.in_channels);
    std_ = fit_channels(weights.std, options_.in_channels);
    weights_info_ = {{"path", weights.path.empty() ? json(nullptr) : json(weights.path)}, {"note", weights.note}};
    random_init_ = weights.path.empty();
    if (random_init_) {
      // A random backbone has nothing worth freezing, and BatchNorm's initial statistics (mean 0,
      // variance 1) in inference mode shrink activations to nothing within a few blocks: such a
      // network only learns with its BatchNorm in training mode, from the first step.
      if (options_.head_epochs > 0 && !options_.lr_find)
        log().info("random initialization: phase 1 (frozen backbone) skipped, -head-epochs={} ignored",
                   options_.head_epochs);
      if (!options_.lr_find) options_.head_epochs = 0;
      options_.train_bn = true;
      if (options_.epochs == 0 && !options_.lr_find)
        throw_usage("training from random initialization needs -epochs > 0 (phase 1 trains only a head on a "
                    "pretrained backbone)");
    }
  }
  if (saved_config) random_init_ = weights_info_.is_object() && weights_info_.value("path", json()).is_null() &&
                                   !weights_info_.contains("from");
  if (options_.freeze_stages < 0) options_.freeze_stages = random_init_ ? 0 : network_->manifest().frozen_stages;
  network_->to(context_.device);
  if (options_.channels_last) to_channels_last(*network_);
}

void Session::resolve_recipe() {
  rare_positive_ = data::is_rare_positive(train_set_, options_.rare_share);
  const bool two_classes = classes_.size() == 2;
  std::vector<std::string> chosen;
  auto resolve = [&](std::string& value, const std::string& flag, const std::string& rare, const std::string& usual) {
    if (value != "auto") return;
    value = rare_positive_ ? rare : usual;
    chosen.push_back(flag + "=" + value);
  };
  resolve(options_.sampler, "-sampler", "balanced", "shuffle");
  resolve(options_.loss, "-loss", "ce", "ce");
  resolve(options_.monitor, "-monitor", "val_ap", "val_accuracy");
  resolve(options_.choose_threshold, "-choose-threshold", "f1", "none");
  for (const auto& warning : data::minority_warnings(train_set_, "training", options_.rare_share)) log().warn("{}", warning);
  if (rare_positive_) {
    std::string text;
    for (const auto& item : chosen) text += (text.empty() ? "" : ", ") + item;
    const auto smaller = std::min(train_set_.class_counts[0], train_set_.class_counts[1]);
    log().info("rare-positive data ({:.1f}% of the training tiles in the smaller class): {}",
               100.0 * static_cast<double>(smaller) / static_cast<double>(train_set_.samples.size()),
               text.empty() ? "every part of the recipe set by hand" : text);
  }
  if ((options_.monitor == "val_auc" || options_.monitor == "val_ap") && !two_classes)
    throw_usage("-monitor=" + options_.monitor + " needs two classes; this data has " + std::to_string(classes_.size()));
  if (options_.choose_threshold != "none" && !two_classes)
    throw_usage("-choose-threshold=" + options_.choose_threshold + " needs two classes; this data has " +
                std::to_string(classes_.size()));
  sampler_ = data::parse_sampler(options_.sampler);
}

void Session::set_class_weights() {
  const auto k = static_cast<int64_t>(classes_.size());
  const std::string& spec = options_.class_weights;
  if (spec == "none" || spec.empty()) return;
  std::vector<float> weights;
  if (spec == "auto" && sampler_ == data::Sampler::Balanced) {
    log().info("-class-weights=auto: balanced batches already give every class an equal share, so the weights stay 1");
    return;
  }
  if (spec == "auto") {
    // scikit-learn's "balanced": n / (k * n_c), so a uniform dataset gets weight 1 everywhere.
    std::vector<int64_t> counts(k, 0);
    for (const auto& sample : train_set_.samples) ++counts[sample.label];
    const auto total = static_cast<double>(train_set_.samples.size());
    for (int64_t c = 0; c < k; ++c) weights.push_back(counts[c] ? static_cast<float>(total / (k * counts[c])) : 0.0f);
  } else {
    std::stringstream in(spec);
    std::string item;
    while (std::getline(in, item, ',')) {
      try {
        size_t used = 0;
        weights.push_back(std::stof(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        throw_usage("-class-weights: '" + item + "' is not a number (expected none, auto or " + std::to_string(k) +
                    " comma-separated weights)");
      }
      if (!(weights.back() >= 0)) throw_usage("-class-weights: weights must be >= 0, got '" + item + "'");
    }
    if (static_cast<int64_t>(weights.size()) != k)
      throw_usage("-class-weights: " + std::to_string(weights.size()) + " weights given for " + std::to_string(k) +
                  " classes (" + join(classes_) + ")");
  }
  class_weights_ = torch::tensor(weights).to(context_.device);
  std::string text;
  for (int64_t c = 0; c < k; ++c) text += (c ? ", " : "") + classes_[c] + "=" + std::to_string(weights[c]).substr(0, 5);
  log().info("class weights: {}", text);
}

std::unique_ptr<data::TileLoader> Session::make_loader(const data::Dataset& dataset, bool shuffle) const {
  data::LoaderOptions loader;
  loader.batch_size = shuffle ? options_.batch : options_.batch * 2;
  loader.tile_size = loader_size_;
  loader.channels = options_.in_channels;
  loader.shuffle = shuffle;
  if (shuffle) loader.sampler = sampler_;
  // Batch statistics from a 1-tile batch are useless; only then drop the ragged last batch.
  loader.drop_last = shuffle && options_.train_bn;
  loader.cache = options_.cache;
  loader.strict = options_.strict;
  loader.pin_memory = context_.device.is_cuda();
  return std::make_unique<data::TileLoader>(paths_of(dataset), labels_of(dataset), loader, context_);
}

void Session::build_loaders() {
  const int side = data::probe_tile_side(paths_of(train_set_), options_.in_channels);
  loader_size_ = data::loader_tile_size(side, input_size_);
  train_loader_ = make_loader(train_set_, true);
  valid_loader_ = make_loader(valid_set_, false);

  infer::PreprocessOptions preprocess;
  preprocess.input_size = input_size_;
  preprocess.mean = mean_;
  preprocess.std = std_;
  preprocess.device = context_.device;
  preprocess.channels_last = options_.channels_last;
  preprocess_ = std::make_unique<infer::Preprocessor>(preprocess);

  train_input_.device = context_.device;
  train_input_.input_size = input_size_;
  train_input_.mean = mean_;
  train_input_.std = std_;
  train_input_.channels_last = options_.channels_last;
  train_input_.augment = options_.augment;
  train_input_.augment_options.dihedral = options_.dihedral;
  train_input_.augment_options.crop_scale = options_.crop_scale;
  train_input_.augment_options.jitter = options_.jitter;
  train_input_.augment_options.mixup = options_.mixup;
  train_input_.augment_options.cutmix = options_.cutmix;
  train_input_.num_classes = static_cast<int64_t>(classes_.size());
  train_input_.seed = context_.seed;
  log().info("{}: {} classes, {} training / {} validation tiles{}, input {}x{} (tiles {}x{} on the CPU), device {}",
             arch_, classes_.size(), train_set_.samples.size(), valid_set_.samples.size(),
             has_test_ ? ", " + std::to_string(test_set_.samples.size()) + " test" : std::string(), input_size_, input_size_,
             loader_size_, loader_size_, context_.device.str());
}

json Session::config() const {
  json resolved = {{"arch", arch_},
                   {"classes", classes_},
                   {"input_size", input_size_},
                   {"loader_tile_size", loader_size_},
                   {"in_channels", options_.in_channels},
                   {"mean", mean_},
                   {"std", std_},
                   {"weights", weights_info_},
                   {"seed", context_.seed},
                   {"device", context_.device.str()},
                   {"threads", context_.threads},
                   {"amp", amp_ ? (*amp_ == torch::kBFloat16 ? "bf16" : "fp16") : "off"},
                   {"train_tiles", train_set_.samples.size()},
                   {"valid_tiles", valid_set_.samples.size()},
                   {"train_class_counts", train_set_.class_counts},
                   {"rare_positive", rare_positive_},
                   {"satx_version", version()},
                   {"torch_version", torch_version()}};
  if (class_weights_.defined()) {
    const auto w = class_weights_.to(torch::kCPU);
    resolved["class_weights"] = std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  }
  return {{"options", to_json(options_)}, {"resolved", resolved}};
}

void Session::emit(const ProgressEvent& event) const {
  if (options_.on_progress) options_.on_progress(event);
}

void Session::stage_progress(const std::string& label, int64_t done, int64_t total, double seconds,
                             const std::string& unit) const {
  ProgressEvent event;
  event.kind = ProgressEvent::Kind::Stage;
  event.label = label;
  event.unit = unit;
  event.step = done;
  event.steps = total;
  event.seconds = seconds;
  emit(event);
}

void Session::calibrate_batchnorm_layers() {
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor inputs;
  {
    std::vector<torch::Tensor> batches;
    int64_t tiles = 0;
    // Augmented like the batches the layers will normalize; an epoch number no real epoch uses.
    train_loader_->start_epoch(-1);
    while (tiles < options_.bn_calibration) {
      auto batch = train_loader_->next();
      if (!batch) break;
      if (batch->labels.numel() == 0) continue;
      batches.push_back(prepare_train_batch(train_input_, *batch, -1, static_cast<int64_t>(batches.size())).first);
      tiles += batches.back().size(0);
    }
    if (batches.empty()) return;
    inputs = torch::cat(batches).slice(0, 0, options_.bn_calibration);
  }
  if (options_.channels_last) inputs = inputs.contiguous(torch::MemoryFormat::ChannelsLast);
  const int layers = calibrate_batchnorm(*network_, inputs, options_.batch, [&](int64_t done, int64_t total) {
    stage_progress("calibrating BatchNorm", done, total, seconds_since(start), "layer");
  });
  log().info("-train-bn: {} BatchNorm layers re-expressed around the statistics of {} training tiles ({:.1f}s)", layers,
             inputs.size(0), seconds_since(start));
}

void Session::set_full_training_mode() {
  network_->train();
  if (!options_.train_bn) {
    freeze_batchnorm(*network_);
    return;
  }
  // A layer begin_phase froze stays exactly as loaded, its BatchNorm statistics included.
  for (const auto& child : network_->modules(/*include_self=*/false))
    if (auto* norm = child->as<torch::nn::BatchNorm2d>(); norm && norm->options.affine() && !norm->weight.requires_grad())
      norm->eval();
}

void Session::build_optimizer(bool head) {
  GroupingOptions grouping;
  grouping.head_only = head;
  grouping.lr_decay_per_stage = options_.lr_decay_per_stage;
  grouping.freeze_stages = head ? 0 : options_.freeze_stages;
  groups_ = group_parameters(*network_, grouping);
  OptimizerOptions optimizer;
  optimizer.kind = options_.optimizer;
  optimizer.lr = head ? options_.head_lr : options_.lr;
  optimizer.momentum = options_.momentum;
  optimizer.nesterov = options_.nesterov;
  optimizer.weight_decay = options_.weight_decay;
  optimizer_ = make_optimizer(groups_, optimizer);
  scaler_ = std::make_unique<LossScaler>(amp_ && *amp_ == torch::kHalf);
}

void Session::begin_phase(const std::string& phase, bool fresh) {
  const bool head = phase == "head";
  const auto& manifest = network_->manifest();
  for (auto& item : network_->named_parameters(true)) {
    bool trainable = !head;
    if (!head && options_.freeze_stages > 0) {
      const int stage = models::stage_of(manifest, item.key());
      trainable = stage < 0 || stage >= options_.freeze_stages;
    }
    item.value().set_requires_grad(trainable);
  }
  if (head)
    for (auto& parameter : network_->head_parameters()) parameter.set_requires_grad(true);
  // After the freezing above: only the layers this phase trains are rewritten.
  if (!head && fresh && options_.train_bn && !random_init_ && options_.bn_calibration > 0) calibrate_batchnorm_layers();

  build_optimizer(head);
  if (!head && options_.ema > 0) {
    // Starts as the phase's initial weights; a mid-phase resume overwrites it from state.pt.
    average_ = models::create_network(arch_, {static_cast<int64_t>(classes_.size()), options_.in_channels});
    average_->to(context_.device);
    if (options_.channels_last) to_channels_last(*average_);
    for (auto& parameter : average_->parameters()) parameter.set_requires_grad(false);
    averager_ = std::make_unique<WeightAverage>(*network_, *average_, options_.ema);
    average_->eval();
  }

  if (cached_head(phase) && !train_features_.features.defined()) {
    // The frozen backbone in inference mode maps each tile to the same features every epoch,
    // so one pass replaces head-epochs passes.
    const auto start = std::chrono::steady_clock::now();
    // Under balanced sampling the features of every tile are cached once; the head epochs then
    // draw balanced batches from them.
    train_features_ = cache_features(
        *network_, *train_loader_, *preprocess_, amp_,
        [&](int64_t done, int64_t total) { stage_progress("caching training features", done, total, seconds_since(start)); },
        /*every_tile_once=*/sampler_ == data::Sampler::Balanced);
    const auto valid_start = std::chrono::steady_clock::now();
    valid_features_ = cache_features(*network_, *valid_loader_, *preprocess_, amp_, [&](int64_t done, int64_t total) {
      stage_progress("caching validation features", done, total, seconds_since(valid_start));
    });
    log().info("cached pooled features of {} training and {} validation tiles in {:.1f}s",
               train_features_.labels.numel(), valid_features_.labels.numel(), seconds_since(start));
  }
}

void Session::end_phase(const std::string& phase) {
  optimizer_.reset();
  snapshot_.clear();
  averager_.reset();
  average_.reset();
  groups_.clear();
  if (phase == "head") {
    train_features_ = {};
    valid_features_ = {};
  }
}

models::Network& Session::evaluated() {
  if (!averager_) return *network_;
  averager_->copy_untrained();
  return *average_;
}

StepContext Session::make_step_context(const LrSchedule& schedule, double peak_lr) {
  StepContext context;
  context.network = network_.get();
  context.optimizer = optimizer_.get();
  context.groups = &groups_;
  context.schedule = &schedule;
  context.peak_lr = peak_lr;
  context.clip_grad = options_.clip_grad;
  context.label_smoothing = options_.label_smoothing;
  context.focal_gamma = options_.loss == "focal" ? options_.focal_gamma : 0.0;
  context.class_weights = class_weights_;
  context.amp = amp_;
  context.scaler = scaler_.get();
  return context;
}

int64_t Session::steps_per_epoch(const std::string& phase) const {
  if (cached_head(phase) && train_features_.features.defined()) {
    const int64_t n = train_features_.features.size(0);
    return (n + options_.batch - 1) / options_.batch;
  }
  return static_cast<int64_t>(train_loader_->batches_per_epoch());
}

EpochStats Session::train_epoch(const std::string& phase, int epoch, int epochs, int global_epoch,
                                const LrSchedule& schedule, double peak_lr) {
  // Dropout and anything else drawing from the global generator restarts from a seed fixed by
  // the epoch, so a resumed run draws what an uninterrupted one would.
  torch::manual_seed(batch_seed(context_.seed, global_epoch, -1));
  StepContext step_context = make_step_context(schedule, peak_lr);

  const int64_t steps = steps_per_epoch(phase);
  const auto start = std::chrono::steady_clock::now();
  ProgressEvent event;
  event.phase = phase;
  event.epoch = epoch + 1;
  event.epochs = epochs;
  event.steps = steps;
  event.kind = ProgressEvent::Kind::EpochStart;
  emit(event);
  event.kind = ProgressEvent::Kind::Step;
  EpochStats stats;
  auto report = [&](int64_t done) {
    event.step = done;
    event.seconds = seconds_since(start);
    event.metrics = {{"loss", stats.loss()}, {"acc", stats.accuracy()}};
    emit(event);
  };
  const auto num_classes = static_cast<int64_t>(classes_.size());

  if (cached_head(phase)) {
    network_->train();
    const int64_t n = train_features_.features.size(0);
    torch::Tensor order;
    if (sampler_ == data::Sampler::Balanced) {
      const auto labels_tensor = train_features_.labels.to(torch::kCPU).contiguous();
      const std::vector<int64_t> labels(labels_tensor.data_ptr<int64_t>(), labels_tensor.data_ptr<int64_t>() + n);
      const auto drawn = data::balanced_order(labels, static_cast<size_t>(options_.batch), static_cast<size_t>(steps),
                                              context_.seed, global_epoch + 1);
      order = torch::tensor(std::vector<int64_t>(drawn.begin(), drawn.end()), torch::kLong).to(context_.device);
    } else {
      auto generator = at::make_generator<at::CPUGeneratorImpl>(batch_seed(context_.seed, global_epoch, -2));
      order = torch::randperm(n, generator, torch::kLong).to(context_.device);
    }
    const int64_t drawn_tiles = order.size(0);
    auto forward = [this](const torch::Tensor& x) { return network_->forward_head(x); };
    for (int64_t i = 0; i < steps; ++i) {
      const auto index = order.slice(0, i * options_.batch, std::min(drawn_tiles, (i + 1) * options_.batch));
      const auto features = train_features_.features.index_select(0, index);
      const auto targets =
          torch::nn::functional::one_hot(train_features_.labels.index_select(0, index), num_classes).to(torch::kFloat);
      train_step(step_context, forward, features, targets, epoch * steps + i, stats);
      report(i + 1);
    }
    return stats;
  }

  if (phase == "head") {
    // Backbone in inference mode; only the head's own modules (dropout) train.
    network_->eval();
    const std::string head = network_->manifest().head;
    const std::string head_root = head.substr(0, head.find('.'));
    for (const auto& item : network_->named_modules("", false))
      if (item.key() == head_root) item.value()->train();
  } else {
    set_full_training_mode();
  }
  auto forward = [this](const torch::Tensor& x) { return network_->forward(x); };
  train_loader_->start_epoch(global_epoch + 1);
  int64_t step = 0;
  while (auto batch = train_loader_->next()) {
    if (batch->labels.numel() == 0) continue;
    const auto [inputs, targets] = prepare_train_batch(train_input_, *batch, global_epoch, step);
    train_step(step_context, forward, inputs, targets, epoch * steps + step, stats);
    if (averager_) averager_->update(epoch * steps + step);
    report(++step);
  }
  const auto bad = train_loader_->bad_files();
  if (!bad.empty() && global_epoch == 0)
    log().warn("{} training tile(s) could not be read and are skipped, e.g. {}: {}", bad.size(), bad.front().path,
               bad.front().reason);
  return stats;
}

json Session::metrics_json(const Predictions& predictions, const std::string& prefix, std::optional<double> threshold) const {
  eval::MetricsAccumulator accumulator(classes_, 0, threshold);
  if (predictions.labels.numel() > 0) {
    const auto probabilities = torch::softmax(predictions.logits, 1);
    accumulator.add(probabilities, predictions.labels, infer::decide_labels(probabilities, threshold));
  }
  const auto report = accumulator.report();
  int64_t classes_predicted = 0;
  for (const auto& item : report.per_class) classes_predicted += item.predicted > 0;
  json metrics = {{prefix + "loss", report.log_loss},
                  {prefix + "accuracy", report.accuracy},
                  {prefix + "macro_f1", report.macro.f1},
                  {prefix + "classes_predicted", classes_predicted}};
  if (report.binary) {
    if (std::isfinite(report.binary->roc_auc)) metrics[prefix + "auc"] = report.binary->roc_auc;
    if (std::isfinite(report.binary->pr_auc)) metrics[prefix + "ap"] = report.binary->pr_auc;
    metrics[prefix + "positive_f1"] = report.per_class[1].f1;
    if (threshold) metrics[prefix + "threshold"] = *threshold;
  }
  return metrics;
}

json Session::validate(const std::string& phase) {
  Predictions predictions;
  if (cached_head(phase)) {
    network_->eval();
    torch::NoGradGuard no_grad;
    predictions.logits = network_->forward_head(valid_features_.features).to(torch::kCPU, torch::kFloat);
    predictions.labels = valid_features_.labels.to(torch::kCPU);
  } else {
    const auto start = std::chrono::steady_clock::now();
    predictions = predict_loader(evaluated(), *valid_loader_, *preprocess_, amp_, [&](int64_t done, int64_t total) {
      stage_progress("validating", done, total, seconds_since(start));
    });
  }
  last_validation_ = predictions;
  return metrics_json(predictions, "val_");
}

double Session::chance_level(const std::string& monitor) const {
  return detail::chance_level(monitor, valid_set_.class_counts);
}

int64_t Session::classes_in_validation() const {
  return std::count_if(valid_set_.class_counts.begin(), valid_set_.class_counts.end(), [](int64_t n) { return n > 0; });
}

void Session::take_snapshot() {
  torch::NoGradGuard no_grad;
  snapshot_.clear();
  for (auto* network : {network_.get(), average_.get()}) {
    if (!network) continue;
    for (const auto& tensor : network->parameters()) snapshot_.push_back(tensor.detach().clone());
    for (const auto& tensor : network->buffers()) snapshot_.push_back(tensor.detach().clone());
  }
}

void Session::restore_snapshot() {
  if (snapshot_.empty()) throw_runtime("no weights to roll back to");
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto* network : {network_.get(), average_.get()}) {
    if (!network) continue;
    for (auto& tensor : network->parameters()) tensor.copy_(snapshot_.at(i++));
    for (auto& tensor : network->buffers()) tensor.copy_(snapshot_.at(i++));
  }
  // The moments the optimizer gathered on the way to the collapse would drive it back there.
  build_optimizer(false);
}

std::optional<eval::ThresholdPoint> Session::choose_threshold(const fs::path& model_path) {
  if (options_.choose_threshold == "none" || classes_.size() != 2) return std::nullopt;
  Predictions predictions = best_validation_;
  if (!predictions.logits.defined()) {
    // A resumed run whose best epoch came before the interruption: score the saved model.
    auto loaded = models::load_model_file(model_path, context_.device);
    if (options_.channels_last) to_channels_last(*loaded.network);
    predictions = predict_loader(*loaded.network, *valid_loader_, *preprocess_, amp_, {});
  }
  const auto scores_tensor = torch::softmax(predictions.logits, 1).select(1, 1).contiguous();
  const auto labels_tensor = predictions.labels.eq(1).to(torch::kUInt8).contiguous();
  const std::vector<float> scores(scores_tensor.data_ptr<float>(), scores_tensor.data_ptr<float>() + scores_tensor.numel());
  const std::vector<uint8_t> labels(labels_tensor.data_ptr<uint8_t>(),
                                    labels_tensor.data_ptr<uint8_t>() + labels_tensor.numel());
  try {
    return eval::choose_threshold(scores, labels, eval::parse_threshold_criterion(options_.choose_threshold));
  } catch (const Error& error) {
    log().warn("no decision threshold chosen ({}); predictions take the more probable class", error.what());
    return std::nullopt;
  }
}

void Session::save_model(const fs::path& path, const json& line, const std::string& kind) {
  models::ModelMetadata metadata;
  metadata.arch = arch_;
  metadata.classes = classes_;
  metadata.input_size = input_size_;
  metadata.in_channels = options_.in_channels;
  metadata.mean = mean_;
  metadata.std = std_;
  metadata.satx_version = version();
  metadata.training = {{"checkpoint", kind},
                       {"train", options_.train_dir},
                       {"add_train", options_.add_train},
                       {"valid", options_.valid_dir},
                       {"head_epochs", options_.head_epochs},
                       {"epochs", options_.epochs},
                       {"monitor", options_.monitor},
                       {"seed", context_.seed},
                       {"weights", weights_info_},
                       {"epoch", line}};
  if (!options_.from.empty()) metadata.training["finetuned_from"] = options_.from;
  if (average_) metadata.training["ema"] = options_.ema;
  models::save_model_file(path, evaluated(), metadata);
}

json Session::test(const fs::path& model_path) {
  if (!has_test_) return nullptr;
  auto loaded = models::load_model_file(model_path, context_.device);
  if (options_.channels_last) to_channels_last(*loaded.network);
  auto loader = make_loader(test_set_, false);
  const auto start = std::chrono::steady_clock::now();
  const auto predictions = predict_loader(*loaded.network, *loader, *preprocess_, amp_, [&](int64_t done, int64_t total) {
    stage_progress("testing " + model_path.filename().string(), done, total, seconds_since(start));
  });
  json metrics = metrics_json(predictions, "test_", loaded.metadata.threshold);
  metrics["test_tiles"] = predictions.labels.numel();
  metrics["model"] = model_path.string();
  return metrics;
}

double Session::lr_find_step(double lr, int64_t step) {
  if (!optimizer_) throw_runtime("lr-find: begin_phase was not called");
  set_full_training_mode();
  std::optional<data::Batch> batch;
  for (int attempt = 0; attempt < 3 && !batch; ++attempt) {
    if (!lr_find_started_) {
      train_loader_->start_epoch(static_cast<int>(1000 + lr_find_epoch_++));
      lr_find_started_ = true;
    }
    batch = train_loader_->next();
    if (!batch) lr_find_started_ = false;
  }
  if (!batch) throw_bad_data("lr-find: the training loader yields no batches");
  ScheduleOptions constant;
  constant.kind = "constant";
  LrSchedule schedule(constant);
  StepContext step_context = make_step_context(schedule, lr);
  const auto [inputs, targets] = prepare_train_batch(train_input_, *batch, 1000, step);
  EpochStats stats;
  train_step(step_context, [this](const torch::Tensor& x) { return network_->forward(x); }, inputs, targets, 0, stats);
  return stats.loss();
}

}  // namespace satx::train::detail
