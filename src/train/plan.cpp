#include "satx/train/plan.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include <spdlog/logger.h>

#include "satx/core/error.hpp"
#include "satx/core/hardware.hpp"
#include "satx/core/strings.hpp"
#include "satx/data/loader.hpp"
#include "satx/infer/precision.hpp"
#include "satx/io/image.hpp"
#include "satx/models/registry.hpp"
#include "satx/models/weights.hpp"
#include "train/detail/plan_data.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace satx::train {

namespace {

// Normalization for a network whose input channels differ from the weights': RGB statistics
// averaged and repeated (the first convolution is adapted the same way).
std::vector<float> fit_channels(const std::vector<float>& values, int channels) {
  if (static_cast<int>(values.size()) == channels || values.empty()) return values;
  double sum = 0;
  for (float v : values) sum += v;
  return std::vector<float>(channels, static_cast<float>(sum / values.size()));
}

// -weights: none, auto (a published file found on disk) or a path; with the normalization the
// weights were trained with. Only identifies the file: the tensors are loaded with the network.
void resolve_weights(TrainPlan& plan, const models::Manifest& manifest, spdlog::logger& log) {
  const std::string& weights = plan.options.data.weights;
  plan.mean = manifest.mean;
  plan.std = manifest.std;
  fs::path path;
  if (weights == "none") {
    plan.weights = {"", "", false, true, "random initialization (-weights=none)"};
    return;
  }
  if (weights == "auto") {
    const auto local = models::find_local_weights(manifest);
    if (local.empty()) {
      log.warn("no ImageNet weights for {} found (-weights=auto looked in $SATX_WEIGHTS, ./weights, ~/.cache/satx/weights): "
               "training from random initialization; pass -weights=FILE for much better accuracy",
               manifest.arch);
      plan.weights = {"", "", false, true, "random initialization (-weights=auto found no file)"};
      return;
    }
    path = local.front().path;
  } else {
    path = weights;
  }
  std::error_code error;
  if (!fs::is_regular_file(path, error))
    throw_option("weights", "'" + path.string() + "' is not a file (give a .safetensors, .pth or .h5 file, 'none' or 'auto')");
  plan.weights.path = path.string();
  if (const auto identified = models::identify_weights(path)) {
    plan.mean = identified->mean;
    plan.std = identified->std;
    plan.weights.note = "identified by sha256 as " + identified->file->name + ": " + identified->file->note;
    return;
  }
  for (const auto& file : manifest.weights)
    if (file.name == path.filename().string()) {
      if (!file.mean.empty()) plan.mean = file.mean;
      if (!file.std.empty()) plan.std = file.std;
      plan.weights.note = "named like " + file.name + ": " + file.note;
      return;
    }
  plan.weights.note = "unknown file: the architecture's default normalization";
}

void resolve_model(TrainPlan& plan, const models::ModelMetadata* from, spdlog::logger& log) {
  auto& o = plan.options;
  if (from) {
    plan.arch = from->arch;
    o.data.in_channels = from->in_channels;
    plan.input_size = o.data.input_size > 0 ? o.data.input_size : from->input_size;
    plan.mean = from->mean;
    plan.std = from->std;
    plan.weights = {"", o.data.from, from->classes != plan.classes, false, "finetuned from " + o.data.from};
    if (o.phases.head_epochs < 0) o.phases.head_epochs = plan.weights.new_head ? 2 : 0;
  } else {
    const auto& manifest = models::find_manifest(o.data.model);
    plan.arch = manifest.arch;
    plan.input_size = o.data.input_size > 0 ? o.data.input_size : manifest.input_size;
    resolve_weights(plan, manifest, log);
    plan.mean = fit_channels(plan.mean, o.data.in_channels);
    plan.std = fit_channels(plan.std, o.data.in_channels);
    if (o.phases.head_epochs < 0) o.phases.head_epochs = 3;
  }
  const auto& manifest = models::find_manifest(plan.arch);
  if (plan.weights.random_init) {
    // A random backbone has nothing worth freezing, and BatchNorm's initial statistics (mean 0,
    // variance 1) in inference mode shrink activations to nothing within a few blocks: such a
    // network only learns with its BatchNorm in training mode, from the first step.
    log.warn("-weights={}: training {} from random initialization (expect lower accuracy and more epochs)",
             o.data.weights, plan.arch);
    if (o.phases.head_epochs > 0 && !o.lr_find.enabled)
      log.info("random initialization: phase 1 (frozen backbone) skipped, -head-epochs={} ignored", o.phases.head_epochs);
    if (!o.lr_find.enabled) o.phases.head_epochs = 0;
    o.phases.train_bn = true;
    if (o.phases.epochs == 0 && !o.lr_find.enabled)
      throw_option("epochs", "must be > 0 when training from random initialization (phase 1 trains only a head on a "
                             "pretrained backbone)");
  }
  if (o.phases.freeze_stages < 0) o.phases.freeze_stages = plan.weights.random_init ? 0 : manifest.frozen_stages;
  if (o.phases.head_epochs == 0 && o.phases.epochs == 0 && !o.lr_find.enabled)
    throw_option("epochs", "is 0 and so is head_epochs: nothing to train");
}

// Every "auto" of the recipe: rare-positive two-class data gets balanced batches, focal loss,
// val_ap, a lower phase-2 rate and an F1 threshold; everything else the usual recipe.
void resolve_recipe(TrainPlan& plan, spdlog::logger& log) {
  auto& o = plan.options;
  plan.rare_positive = data::is_rare_positive(plan.train, o.sampling.rare_share);
  const bool rare = plan.rare_positive, two_classes = plan.classes.size() == 2;
  std::vector<std::string> chosen;
  if (!o.sampling.sampler) {
    o.sampling.sampler = rare ? data::Sampler::Balanced : data::Sampler::Shuffle;
    if (rare) chosen.push_back("-sampler=balanced");
  }
  if (!o.loss.kind) {
    o.loss.kind = rare ? LossKind::Focal : LossKind::CrossEntropy;
    if (rare) chosen.push_back("-loss=focal");
  }
  if (!o.checkpoints.monitor) {
    o.checkpoints.monitor = rare ? Monitor::Ap : Monitor::Accuracy;
    if (rare) chosen.push_back("-monitor=val_ap");
  }
  if (!o.phases.lr) {
    o.phases.lr = rare ? 5e-4 : 1e-3;
    if (rare) chosen.push_back("-lr=5e-4");
  }
  if (o.checkpoints.choose_threshold == "auto") {
    o.checkpoints.choose_threshold = rare ? "f1" : "none";
    if (rare) chosen.push_back("-choose-threshold=f1");
  }
  for (const auto& warning : data::minority_warnings(plan.train, "training", o.sampling.rare_share)) log.warn("{}", warning);
  if (rare) {
    const auto smaller = std::min(plan.train.class_counts[0], plan.train.class_counts[1]);
    log.info("rare-positive data ({:.1f}% of the training tiles in the smaller class): {}",
             100.0 * static_cast<double>(smaller) / static_cast<double>(plan.train.samples.size()),
             chosen.empty() ? std::string("every part of the recipe set by hand") : join(chosen));
  }
  if (needs_two_classes(plan.monitor()) && !two_classes)
    throw_option("monitor", std::string("=") + monitor_key(plan.monitor()) + " needs two classes; this data has " +
                                std::to_string(plan.classes.size()));
  if (o.checkpoints.choose_threshold != "none") {
    if (!two_classes)
      throw_option("choose_threshold", "=" + o.checkpoints.choose_threshold + " needs two classes; this data has " +
                                           std::to_string(plan.classes.size()));
    plan.threshold = eval::parse_threshold_criterion(o.checkpoints.choose_threshold);
  }
}

void resolve_class_weights(TrainPlan& plan, spdlog::logger& log) {
  const auto k = plan.classes.size();
  const std::string& spec = plan.options.loss.class_weights;
  if (spec == "none" || spec.empty()) return;
  std::vector<float> weights;
  if (spec == "auto") {
    if (plan.sampler() == data::Sampler::Balanced) {
      log.info("-class-weights=auto: balanced batches already give every class an equal share, so the weights stay 1");
      return;
    }
    // scikit-learn's "balanced": n / (k * n_c), so a uniform dataset gets weight 1 everywhere.
    const auto total = static_cast<double>(plan.train.samples.size());
    for (int64_t count : plan.train.class_counts)
      weights.push_back(count ? static_cast<float>(total / (static_cast<double>(k) * count)) : 0.0f);
  } else {
    std::stringstream in(spec);
    std::string item;
    while (std::getline(in, item, ',')) {
      float value = 0;
      try {
        size_t used = 0;
        value = std::stof(item, &used);
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        throw_option("class_weights", "'" + item + "' is not a number (expected none, auto or " + std::to_string(k) +
                                          " comma-separated weights)");
      }
      if (!(value >= 0 && value <= 1e6)) throw_option("class_weights", "weights must be in [0, 1e6], got '" + item + "'");
      weights.push_back(value);
    }
    if (weights.size() != k)
      throw_option("class_weights", std::to_string(weights.size()) + " weights given for " + std::to_string(k) +
                                        " classes (" + join(plan.classes) + ")");
  }
  std::string text;
  for (size_t c = 0; c < k; ++c) text += (c ? ", " : "") + plan.classes[c] + "=" + std::to_string(weights[c]).substr(0, 5);
  log.info("class weights: {}", text);
  plan.class_weights = std::move(weights);
}

void finish(TrainPlan& plan, const Context& context) {
  const auto& o = plan.options;
  const auto tiles = static_cast<int64_t>(plan.train.samples.size());
  // With BatchNorm in training mode the ragged last batch is dropped (see Session::make_loader):
  // fewer tiles than a batch would train for zero steps and still write a model.
  if (o.phases.train_bn && o.phases.epochs > 0 && tiles < o.sampling.batch)
    throw_option("batch", "=" + std::to_string(o.sampling.batch) + " is more than the " + std::to_string(tiles) +
                              " training tiles; with BatchNorm in training mode (-train-bn, or -weights=none) a batch " +
                              "must be full, so no step would run: use -batch=" + std::to_string(std::max<int64_t>(2, tiles / 2)) +
                              " or add tiles");
  std::vector<std::string> paths;
  for (const auto& sample : plan.train.samples) paths.push_back(sample.path);
  const int channels = o.data.in_channels;
  // Probed on tiles spread over every class: when none reads, the cause is a setting
  // (-in-channels) or a wrong folder, not a few bad files, and it is said now, before the run
  // folder exists.
  std::vector<std::string> spread;
  const size_t step = std::max<size_t>(1, paths.size() / 32);
  for (size_t i = 0; i < paths.size(); i += step) spread.push_back(paths[i]);
  const int side = data::probe_tile_side(spread, channels, static_cast<int>(spread.size()));
  if (side == 0) {
    const io::DecodeResult first = io::try_decode_tile(spread.front(), io::DecodeOptions{channels});
    const bool all = spread.size() == paths.size();
    throw_bad_data("none of " + std::string(all ? "the " : "") + std::to_string(spread.size()) + " training tiles" +
                   (all ? "" : " sampled across the classes") + " could be read as " + std::to_string(channels) +
                   "-channel images (e.g. " + spread.front() + ": " + first.error + "); check -in-channels, or run " +
                   "'satx data check' on " + o.data.train_dir);
  }
  plan.loader_tile_size = data::loader_tile_size(side, plan.input_size);
  plan.autocast = infer::resolve_precision(plan.options.runtime.amp, context.device);
  plan.seed = context.seed;
  plan.device = context.device;
}

}  // namespace

TrainPlan make_plan(const TrainOptions& options, const Context& context) {
  validate(options);
  spdlog::logger& log = *(context.log ? context.log : null_logger());
  TrainPlan plan;
  plan.options = options;
  std::optional<models::ModelMetadata> from;
  if (!options.data.from.empty()) from = models::read_model_metadata(options.data.from);
  detail::load_plan_data(plan, from ? &*from : nullptr, log);
  resolve_model(plan, from ? &*from : nullptr, log);
  resolve_recipe(plan, log);
  resolve_class_weights(plan, log);
  finish(plan, context);
  return plan;
}

TrainPlan plan_from_config(const json& config, const TrainOptions& given, const std::string& origin, const Context& context) {
  TrainPlan plan;
  try {
    plan.options = train_options_from_json(config.at("options"), origin);
    plan.options.on_progress = given.on_progress;
    plan.options.runtime.log_every = given.runtime.log_every;
    plan.options.data.out = given.data.out;
    plan.options.checkpoints.resume = given.checkpoints.resume;
    const json& resolved = config.at("resolved");
    plan.classes = resolved.at("classes").get<std::vector<std::string>>();
    plan.arch = resolved.at("arch").get<std::string>();
    plan.input_size = resolved.at("input_size").get<int>();
    plan.mean = resolved.at("mean").get<std::vector<float>>();
    plan.std = resolved.at("std").get<std::vector<float>>();
    plan.rare_positive = resolved.value("rare_positive", false);
    plan.class_weights = resolved.value("class_weights", std::vector<float>{});
    const json& weights = resolved.at("weights");
    plan.weights.path = weights.value("path", json()).is_string() ? weights.at("path").get<std::string>() : "";
    plan.weights.from = weights.value("from", "");
    plan.weights.new_head = weights.value("new_head", false);
    plan.weights.random_init = weights.value("random_init", plan.weights.path.empty() && plan.weights.from.empty());
    plan.weights.note = weights.value("note", "");
  } catch (const json::exception& error) {
    throw_bad_data("reading " + origin + ": " + error.what());
  }
  spdlog::logger& log = *(context.log ? context.log : null_logger());
  detail::load_plan_data(plan, nullptr, log);
  if (!plan.options.sampling.sampler || !plan.options.loss.kind || !plan.options.checkpoints.monitor)
    throw_bad_data("reading " + origin + ": the recorded options leave the sampler, loss or monitor unresolved");
  if (plan.options.checkpoints.choose_threshold != "none")
    plan.threshold = eval::parse_threshold_criterion(plan.options.checkpoints.choose_threshold);
  finish(plan, context);
  return plan;
}

models::ModelMetadata TrainPlan::model_metadata() const {
  models::ModelMetadata metadata;
  metadata.arch = arch;
  metadata.classes = classes;
  metadata.input_size = input_size;
  metadata.in_channels = options.data.in_channels;
  metadata.mean = mean;
  metadata.std = std;
  metadata.satx_version = version();
  return metadata;
}

json TrainPlan::to_json() const {
  json weights_json = {{"path", weights.path.empty() ? json(nullptr) : json(weights.path)},
                       {"note", weights.note},
                       {"random_init", weights.random_init}};
  if (!weights.from.empty()) {
    weights_json["from"] = weights.from;
    weights_json["new_head"] = weights.new_head;
  }
  json resolved = {{"arch", arch},
                   {"classes", classes},
                   {"input_size", input_size},
                   {"loader_tile_size", loader_tile_size},
                   {"in_channels", options.data.in_channels},
                   {"mean", mean},
                   {"std", std},
                   {"weights", weights_json},
                   {"seed", seed},
                   {"device", device.str()},
                   {"amp", autocast ? (*autocast == torch::kBFloat16 ? "bf16" : "fp16") : "off"},
                   {"train_tiles", train.samples.size()},
                   {"valid_tiles", valid.samples.size()},
                   {"train_class_counts", train.class_counts},
                   {"valid_class_counts", valid.class_counts},
                   {"hardware", describe_hardware(device)},
                   {"rare_positive", rare_positive},
                   {"satx_version", version()},
                   {"torch_version", torch_version()}};
  if (!class_weights.empty()) resolved["class_weights"] = class_weights;
  return {{"options", train::to_json(options)}, {"resolved", resolved}};
}

}  // namespace satx::train
