#include "satx/train/options.hpp"

#include <algorithm>

#include "satx/core/error.hpp"
#include "satx/data/sampler.hpp"
#include "satx/eval/threshold.hpp"
#include "satx/train/early_stopping.hpp"
#include "satx/train/optimizer.hpp"
#include "satx/train/schedule.hpp"

namespace satx::train {

namespace {

// One list drives both directions, so a new option cannot be written but not read back.
template <typename Visitor>
void visit_fields(TrainOptions& o, Visitor&& v) {
  v("model", o.model); v("train", o.train_dir); v("add_train", o.add_train); v("valid", o.valid_dir); v("test", o.test_dir);
  v("weights", o.weights); v("out", o.out); v("input_size", o.input_size); v("in_channels", o.in_channels);
  v("cache", o.cache); v("strict", o.strict);
  v("head_epochs", o.head_epochs); v("head_lr", o.head_lr); v("head_cache", o.head_cache);
  v("epochs", o.epochs); v("lr", o.lr); v("train_bn", o.train_bn); v("bn_calibration", o.bn_calibration);
  v("lr_decay_per_stage", o.lr_decay_per_stage);
  v("freeze_stages", o.freeze_stages); v("ema", o.ema); v("from", o.from); v("new_head", o.new_head);
  v("batch", o.batch); v("optimizer", o.optimizer); v("momentum", o.momentum); v("nesterov", o.nesterov);
  v("weight_decay", o.weight_decay); v("schedule", o.schedule); v("warmup_epochs", o.warmup_epochs);
  v("min_lr_ratio", o.min_lr_ratio); v("step_gamma", o.step_gamma); v("step_every", o.step_every);
  v("plateau_patience", o.plateau_patience); v("clip_grad", o.clip_grad); v("label_smoothing", o.label_smoothing);
  v("class_weights", o.class_weights); v("loss", o.loss); v("focal_gamma", o.focal_gamma); v("sampler", o.sampler);
  v("rare_share", o.rare_share); v("monitor", o.monitor); v("choose_threshold", o.choose_threshold);
  v("collapse_guard", o.collapse_guard); v("collapse_lr_factor", o.collapse_lr_factor); v("patience", o.patience);
  v("min_delta", o.min_delta); v("resume", o.resume); v("deterministic", o.deterministic);
  v("augment", o.augment); v("dihedral", o.dihedral); v("crop_scale", o.crop_scale); v("jitter", o.jitter);
  v("mixup", o.mixup); v("cutmix", o.cutmix); v("amp", o.amp); v("channels_last", o.channels_last);
  v("lr_find", o.lr_find); v("lr_find_min", o.lr_find_min); v("lr_find_max", o.lr_find_max);
  v("lr_find_steps", o.lr_find_steps); v("log_every", o.log_every);
}

}  // namespace

nlohmann::json to_json(const TrainOptions& options) {
  nlohmann::json json = nlohmann::json::object();
  TrainOptions copy = options;
  visit_fields(copy, [&json](const char* key, auto& value) { json[key] = value; });
  return json;
}

TrainOptions train_options_from_json(const nlohmann::json& json, const std::string& origin) {
  TrainOptions options;
  visit_fields(options, [&](const char* key, auto& value) {
    if (!json.contains(key)) return;
    try {
      json.at(key).get_to(value);
    } catch (const nlohmann::json::exception&) {
      throw_bad_data("reading " + origin + ": option '" + key + "' has the wrong type (" + json.at(key).dump() + ")");
    }
  });
  return options;
}

void validate(const TrainOptions& o) {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw_usage(message);
  };
  require(o.head_epochs >= 0, "-head-epochs must be >= 0, got " + std::to_string(o.head_epochs));
  require(o.epochs >= 0, "-epochs must be >= 0, got " + std::to_string(o.epochs));
  require(o.head_epochs + o.epochs > 0 || o.lr_find, "nothing to train: -head-epochs and -epochs are both 0");
  require(o.head_lr > 0, "-head-lr must be > 0, got " + std::to_string(o.head_lr));
  require(o.lr > 0, "-lr must be > 0, got " + std::to_string(o.lr));
  require(o.batch >= 1, "-batch must be >= 1, got " + std::to_string(o.batch));
  require(o.input_size >= 0 && o.input_size <= 4096, "-input-size must be in [0, 4096], got " + std::to_string(o.input_size));
  require(o.in_channels >= 1, "-in-channels must be >= 1, got " + std::to_string(o.in_channels));
  require(o.cache == "auto" || o.cache == "ram" || o.cache == "off",
          unknown_value_message("-cache", o.cache, {"auto", "ram", "off"}));
  require(o.label_smoothing >= 0 && o.label_smoothing < 1,
          "-label-smoothing must be in [0, 1), got " + std::to_string(o.label_smoothing));
  require(o.clip_grad >= 0, "-clip-grad must be >= 0, got " + std::to_string(o.clip_grad));
  require(o.freeze_stages >= -1, "-freeze-stages must be >= 0 (or -1 for the backbone's default), got " +
                                     std::to_string(o.freeze_stages));
  require(o.bn_calibration >= 0, "-bn-calibration must be >= 0 (0 = off), got " + std::to_string(o.bn_calibration));
  require(o.ema >= 0 && o.ema < 1, "-ema must be in [0, 1) (0 = off; 0.999 is typical), got " + std::to_string(o.ema));
  require(o.crop_scale > 0 && o.crop_scale <= 1, "-crop-scale must be in (0, 1], got " + std::to_string(o.crop_scale));
  require(o.jitter >= 0 && o.jitter < 1, "-jitter must be in [0, 1), got " + std::to_string(o.jitter));
  require(o.mixup >= 0 && o.cutmix >= 0, "-mixup and -cutmix must be >= 0");
  require(o.lr_find_min > 0 && o.lr_find_max > o.lr_find_min, "-lr-find-min must be > 0 and below -lr-find-max");
  require(o.lr_find_steps >= 5, "-lr-find-steps must be >= 5, got " + std::to_string(o.lr_find_steps));
  require(o.log_every >= 1, "-log-every must be >= 1, got " + std::to_string(o.log_every));
  const auto& optimizers = optimizer_kinds();
  require(std::find(optimizers.begin(), optimizers.end(), o.optimizer) != optimizers.end(),
          unknown_value_message("-optimizer", o.optimizer, optimizers));
  const auto& schedules = schedule_kinds();
  require(std::find(schedules.begin(), schedules.end(), o.schedule) != schedules.end(),
          unknown_value_message("-schedule", o.schedule, schedules));
  if (o.monitor != "auto") monitor_maximized(o.monitor);  // throws for an unknown name
  require(o.loss == "auto" || o.loss == "ce" || o.loss == "focal", unknown_value_message("-loss", o.loss, {"auto", "ce", "focal"}));
  require(o.focal_gamma >= 0 && o.focal_gamma <= 10, "-focal-gamma must be in [0, 10], got " + std::to_string(o.focal_gamma));
  if (o.sampler != "auto") data::parse_sampler(o.sampler);
  require(o.rare_share > 0 && o.rare_share <= 0.5, "-rare-share must be in (0, 0.5], got " + std::to_string(o.rare_share));
  if (o.choose_threshold != "auto" && o.choose_threshold != "none") eval::parse_threshold_criterion(o.choose_threshold);
  require(o.collapse_lr_factor > 0 && o.collapse_lr_factor < 1,
          "-collapse-lr-factor must be in (0, 1), got " + std::to_string(o.collapse_lr_factor));
  require(o.amp == "auto" || o.amp == "bf16" || o.amp == "fp16" || o.amp == "off",
          unknown_value_message("-amp", o.amp, {"auto", "bf16", "fp16", "off"}));
}

}  // namespace satx::train
