#include "train/detail/session.hpp"

#include <chrono>
#include <cstdlib>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/strings.hpp"
#include "satx/data/sampler.hpp"
#include "train/detail/network_setup.hpp"

namespace satx::train::detail {

const char* phase_name(Phase phase) { return phase == Phase::Head ? "head" : "full"; }

Session::Session(const TrainPlan& plan, const Context& context, bool resuming) : plan_(plan), context_(context) {
  if (!context_.log) context_.log = null_logger();
  if (plan_.options.checkpoints.deterministic) {
    // cuBLAS is deterministic only with a fixed workspace (set before its first handle exists).
    setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
    at::globalContext().setDeterministicCuDNN(true);
    at::globalContext().setBenchmarkCuDNN(false);
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  } else if (context_.device.is_cuda()) {
    // Fixed input shapes: let cuDNN time its algorithms once and keep the fastest.
    at::globalContext().setBenchmarkCuDNN(true);
  }
  network_ = build_network(plan_, log(), resuming);
  if (!plan_.class_weights.empty()) class_weights_ = torch::tensor(plan_.class_weights).to(context_.device);
  infer::EngineOptions engine;
  engine.precision = plan_.options.runtime.amp;
  engine.channels_last = plan_.options.runtime.channels_last;
  engine_ = std::make_unique<infer::InferenceEngine>(network_, plan_.model_metadata(), context_.device, engine);
  build_loaders();
}

Session::~Session() = default;

std::unique_ptr<data::TileLoader> Session::make_loader(const data::Dataset& dataset, bool shuffle) const {
  const auto& o = plan_.options;
  data::LoaderOptions loader;
  loader.batch_size = shuffle ? o.sampling.batch : o.sampling.batch * 2;
  loader.tile_size = plan_.loader_tile_size;
  loader.channels = o.data.in_channels;
  loader.shuffle = shuffle;
  if (shuffle) loader.sampler = plan_.sampler();
  // Batch statistics from a 1-tile batch are useless; only then drop the ragged last batch.
  loader.drop_last = shuffle && o.phases.train_bn;
  loader.cache = o.data.cache;
  loader.strict = o.data.strict;
  loader.pin_memory = context_.device.is_cuda();
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
  for (const auto& sample : dataset.samples) {
    paths.push_back(sample.path);
    labels.push_back(sample.label);
  }
  return std::make_unique<data::TileLoader>(std::move(paths), std::move(labels), loader, context_);
}

void Session::build_loaders() {
  train_loader_ = make_loader(plan_.train, true);
  valid_loader_ = make_loader(plan_.valid, false);
  train_input_.device = context_.device;
  train_input_.input_size = plan_.input_size;
  train_input_.normalize = &engine_->preprocessor();
  train_input_.augment = plan_.options.augment;
  train_input_.num_classes = static_cast<int64_t>(plan_.classes.size());
  train_input_.seed = context_.seed;
  log().info("{}: {} classes, {} training / {} validation tiles{}, input {}x{} (tiles {}x{} on the CPU), device {}",
             plan_.arch, plan_.classes.size(), plan_.train.samples.size(), plan_.valid.samples.size(),
             plan_.has_test ? ", " + std::to_string(plan_.test.samples.size()) + " test" : std::string(), plan_.input_size,
             plan_.input_size, plan_.loader_tile_size, plan_.loader_tile_size, context_.device.str());
}

void Session::emit(const ProgressEvent& event) const {
  if (plan_.options.on_progress) plan_.options.on_progress(event);
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
  const int64_t wanted = plan_.options.phases.bn_calibration;
  torch::Tensor inputs;
  {
    std::vector<torch::Tensor> batches;
    int64_t tiles = 0;
    // Augmented like the batches the layers will normalize; an epoch number no real epoch uses.
    train_loader_->start_epoch(-1);
    while (tiles < wanted) {
      auto batch = train_loader_->next();
      if (!batch) break;
      if (batch->labels.numel() == 0) continue;
      batches.push_back(prepare_train_batch(train_input_, *batch, -1, static_cast<int64_t>(batches.size())).first);
      tiles += batches.back().size(0);
    }
    if (batches.empty()) return;
    inputs = torch::cat(batches).slice(0, 0, wanted);
  }
  if (plan_.options.runtime.channels_last) inputs = inputs.contiguous(torch::MemoryFormat::ChannelsLast);
  const int layers = calibrate_batchnorm(*network_, inputs, plan_.options.sampling.batch, [&](int64_t done, int64_t total) {
    stage_progress("calibrating BatchNorm", done, total, seconds_since(start), "layer");
  });
  log().info("-train-bn: {} BatchNorm layers re-expressed around the statistics of {} training tiles ({:.1f}s)", layers,
             inputs.size(0), seconds_since(start));
}

void Session::set_full_training_mode() {
  network_->train();
  if (!plan_.options.phases.train_bn) {
    freeze_batchnorm(*network_);
    return;
  }
  // A layer begin_phase froze stays exactly as loaded, its BatchNorm statistics included.
  for (const auto& child : network_->modules(/*include_self=*/false))
    if (auto* norm = child->as<torch::nn::BatchNorm2d>(); norm && norm->options.affine() && !norm->weight.requires_grad())
      norm->eval();
}

void Session::build_optimizer(Phase phase) {
  const auto& p = plan_.options.phases;
  const bool head = phase == Phase::Head;
  GroupingOptions grouping;
  grouping.head_only = head;
  grouping.lr_decay_per_stage = p.lr_decay_per_stage;
  grouping.freeze_stages = head ? 0 : p.freeze_stages;
  groups_ = group_parameters(*network_, grouping);
  optimizer_ = make_optimizer(groups_, plan_.options.optimizer, head ? p.head_lr : plan_.lr());
  scaler_ = std::make_unique<LossScaler>(plan_.autocast && *plan_.autocast == torch::kHalf);
}

void Session::begin_phase(Phase phase, bool fresh) {
  const auto& p = plan_.options.phases;
  const bool head = phase == Phase::Head;
  const auto& manifest = network_->manifest();
  for (auto& item : network_->named_parameters(true)) {
    bool trainable = !head;
    if (!head && p.freeze_stages > 0) {
      const int stage = models::stage_of(manifest, item.key());
      trainable = stage < 0 || stage >= p.freeze_stages;
    }
    item.value().set_requires_grad(trainable);
  }
  if (head)
    for (auto& parameter : network_->head_parameters()) parameter.set_requires_grad(true);
  // After the freezing above: only the layers this phase trains are rewritten.
  if (!head && fresh && p.train_bn && !plan_.weights.random_init && p.bn_calibration > 0) calibrate_batchnorm_layers();
  build_optimizer(phase);
  if (!head && p.ema > 0) {
    // Starts as the phase's initial weights; a mid-phase resume overwrites it from state.pt.
    average_ = make_like(plan_);
    for (auto& parameter : average_->parameters()) parameter.set_requires_grad(false);
    averager_ = std::make_unique<WeightAverage>(*network_, *average_, p.ema);
    average_->eval();
    average_engine_ =
        std::make_unique<infer::InferenceEngine>(average_, plan_.model_metadata(), context_.device, engine_->options());
  }
  if (cached_head(phase) && !train_features_.defined()) cache_head_features();
}

void Session::end_phase(Phase phase) {
  optimizer_.reset();
  snapshot_.clear();
  averager_.reset();
  average_engine_.reset();
  average_.reset();
  groups_.clear();
  if (phase == Phase::Head) train_features_ = train_feature_labels_ = valid_features_ = valid_feature_labels_ = torch::Tensor();
}

infer::InferenceEngine& Session::evaluated() {
  if (!averager_) return *engine_;
  averager_->copy_untrained();
  return *average_engine_;
}

StepContext Session::make_step_context(const LrSchedule& schedule, double peak_lr) {
  StepContext context;
  context.optimizer = optimizer_.get();
  context.groups = &groups_;
  context.schedule = &schedule;
  context.peak_lr = peak_lr;
  context.clip_grad = plan_.options.optimizer.clip_grad;
  context.label_smoothing = plan_.options.loss.label_smoothing;
  context.focal_gamma = plan_.loss() == LossKind::Focal ? plan_.options.loss.focal_gamma : 0.0;
  context.class_weights = class_weights_;
  context.autocast = plan_.autocast;
  context.scaler = scaler_.get();
  return context;
}

int64_t Session::steps_per_epoch(Phase phase) const {
  const int64_t batch = plan_.options.sampling.batch;
  if (cached_head(phase) && train_features_.defined()) return (train_features_.size(0) + batch - 1) / batch;
  return static_cast<int64_t>(train_loader_->batches_per_epoch());
}

EpochStats Session::train_epoch(Phase phase, int epoch, int epochs, int global_epoch, const LrSchedule& schedule,
                                double peak_lr) {
  // Dropout and anything else drawing from the global generator restarts from a seed fixed by
  // the epoch, so a resumed run draws what an uninterrupted one would.
  torch::manual_seed(batch_seed(context_.seed, global_epoch, -1));
  StepContext step_context = make_step_context(schedule, peak_lr);
  const int64_t steps = steps_per_epoch(phase), log_every = plan_.options.runtime.log_every;
  const int64_t batch = plan_.options.sampling.batch;
  const auto start = std::chrono::steady_clock::now();
  ProgressEvent event;
  event.phase = phase_name(phase);
  event.epoch = epoch + 1;
  event.epochs = epochs;
  event.steps = steps;
  event.kind = ProgressEvent::Kind::EpochStart;
  emit(event);
  event.kind = ProgressEvent::Kind::Step;
  EpochStats stats;
  // The running loss is read from the device only every log_every steps and at the end.
  auto report = [&](int64_t done) {
    if (done == 1 || done % log_every == 0 || done == steps) stats.sync();
    event.step = done;
    event.seconds = seconds_since(start);
    event.metrics = {{"loss", stats.loss()}, {"acc", stats.accuracy()}};
    emit(event);
  };

  if (cached_head(phase)) {
    network_->train();
    const int64_t n = train_features_.size(0);
    if (n == 0)
      throw_bad_data("none of the " + std::to_string(plan_.train.samples.size()) +
                     " training tiles could be read; run 'satx data check' on the folder");
    torch::Tensor order;
    if (plan_.sampler() == data::Sampler::Balanced) {
      const auto labels_tensor = train_feature_labels_.to(torch::kCPU).contiguous();
      const std::vector<int64_t> labels(labels_tensor.data_ptr<int64_t>(), labels_tensor.data_ptr<int64_t>() + n);
      const auto drawn = data::balanced_order(labels, static_cast<size_t>(batch), static_cast<size_t>(steps), context_.seed,
                                              global_epoch + 1);
      order = torch::tensor(std::vector<int64_t>(drawn.begin(), drawn.end()), torch::kLong).to(context_.device);
    } else {
      auto generator = at::make_generator<at::CPUGeneratorImpl>(batch_seed(context_.seed, global_epoch, -2));
      order = torch::randperm(n, generator, torch::kLong).to(context_.device);
    }
    const auto classes = static_cast<int64_t>(plan_.classes.size());
    auto forward = [this](const torch::Tensor& x) { return network_->forward_head(x); };
    for (int64_t i = 0; i < steps; ++i) {
      const auto index = order.slice(0, i * batch, std::min(order.size(0), (i + 1) * batch));
      const auto targets =
          torch::nn::functional::one_hot(train_feature_labels_.index_select(0, index), classes).to(torch::kFloat);
      train_step(step_context, forward, train_features_.index_select(0, index), targets, epoch * steps + i, stats);
      report(i + 1);
    }
    return stats;
  }

  if (phase == Phase::Head) {
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
  while (auto next = train_loader_->next()) {
    if (next->labels.numel() == 0) continue;
    const auto [inputs, targets] = prepare_train_batch(train_input_, *next, global_epoch, step);
    train_step(step_context, forward, inputs, targets, epoch * steps + step, stats);
    if (averager_) averager_->update(epoch * steps + step);
    report(++step);
  }
  stats.sync();
  const auto bad = train_loader_->bad_files();
  // A model trained on nothing must not be written as if it were a result.
  if (step == 0)
    throw_bad_data(bad.size() >= plan_.train.samples.size() && !bad.empty()
                       ? "none of the " + std::to_string(plan_.train.samples.size()) + " training tiles could be read (e.g. " +
                             bad.front().path + ": " + bad.front().reason + "); run 'satx data check' on the folder"
                       : std::string("phase '") + phase_name(phase) + "' epoch " + std::to_string(epoch + 1) + " had no training step (" +
                             std::to_string(plan_.train.samples.size()) + " tiles, -batch=" + std::to_string(batch) + ")");
  if (!bad.empty() && global_epoch == 0)
    log().warn("{} training tile(s) could not be read and are skipped, e.g. {}: {}", bad.size(), bad.front().path,
               bad.front().reason);
  return stats;
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
  build_optimizer(Phase::Full);
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
  LrSchedule schedule(ScheduleOptions{ScheduleKind::Constant}, ScheduleShape{});
  StepContext step_context = make_step_context(schedule, lr);
  const auto [inputs, targets] = prepare_train_batch(train_input_, *batch, 1000, step);
  EpochStats stats;
  train_step(step_context, [this](const torch::Tensor& x) { return network_->forward(x); }, inputs, targets, 0, stats);
  stats.sync();
  return stats.loss();
}

}  // namespace satx::train::detail
