#include "satx/train/options.hpp"

#include <cmath>

#include "satx/core/error.hpp"
#include "satx/eval/threshold.hpp"

namespace satx::train {

namespace {

// An enum (or an optional enum, "auto" when unset) as its name in config.json.
template <typename Enum>
struct Named {
  Enum& value;
  const char* (*name)(Enum);
  Enum (*parse)(const std::string&, const std::string&);
};

template <typename Enum>
struct NamedOptional {
  std::optional<Enum>& value;
  const char* (*name)(Enum);
  Enum (*parse)(const std::string&, const std::string&);
};

template <typename T>
void write_json(nlohmann::json& json, const char* key, T& value) {
  json[key] = value;
}
template <typename Enum>
void write_json(nlohmann::json& json, const char* key, Named<Enum>& field) {
  json[key] = field.name(field.value);
}
template <typename Enum>
void write_json(nlohmann::json& json, const char* key, NamedOptional<Enum>& field) {
  json[key] = field.value ? field.name(*field.value) : "auto";
}

void write_json(nlohmann::json& json, const char* key, std::optional<double>& value) {
  if (value) json[key] = *value;
  else json[key] = "auto";
}

template <typename T>
void read_json(const nlohmann::json& json, const char* key, T& value) {
  json.at(key).get_to(value);
}
void read_json(const nlohmann::json& json, const char* key, std::optional<double>& value) {
  const auto& field = json.at(key);
  if (field.is_string() && field.get<std::string>() == "auto") value.reset();
  else value = field.get<double>();
}
template <typename Enum>
void read_json(const nlohmann::json& json, const char* key, Named<Enum>& field) {
  field.value = field.parse(json.at(key).get<std::string>(), key);
}
template <typename Enum>
void read_json(const nlohmann::json& json, const char* key, NamedOptional<Enum>& field) {
  const auto text = json.at(key).get<std::string>();
  if (text == "auto") field.value.reset();
  else field.value = field.parse(text, key);
}

const char* sampler_text(data::Sampler sampler) { return data::sampler_name(sampler); }
data::Sampler parse_sampler_text(const std::string& text, const std::string& flag) { return data::parse_sampler(text, flag); }
const char* loss_name(LossKind kind) { return kind == LossKind::Focal ? "focal" : "ce"; }
LossKind parse_loss(const std::string& text, const std::string& flag) {
  if (text == "ce") return LossKind::CrossEntropy;
  if (text == "focal") return LossKind::Focal;
  throw_usage(unknown_value_message(flag, text, {"auto", "ce", "focal"}));
}
infer::Precision parse_amp(const std::string& text, const std::string& flag) { return infer::parse_precision(text, flag); }
data::CacheMode parse_cache(const std::string& text, const std::string& flag) { return data::parse_cache_mode(text, flag); }
Monitor parse_monitor_key(const std::string& text, const std::string& flag) { return parse_monitor(text, flag); }

// One list drives both directions, so an option cannot be written but not read back. The keys
// are the option field names that errors and the CLI share.
template <typename Visitor>
void visit_fields(TrainOptions& o, Visitor&& v) {
  auto& d = o.data;
  v("model", d.model); v("train", d.train_dir); v("add_train", d.add_train); v("valid", d.valid_dir);
  v("test", d.test_dir); v("weights", d.weights); v("from", d.from); v("new_head", d.new_head); v("out", d.out);
  v("input_size", d.input_size); v("in_channels", d.in_channels);
  Named<data::CacheMode> cache{d.cache, data::cache_mode_name, parse_cache};
  v("cache", cache);
  v("strict", d.strict);
  auto& p = o.phases;
  v("head_epochs", p.head_epochs); v("head_lr", p.head_lr); v("head_cache", p.head_cache); v("epochs", p.epochs);
  v("lr", p.lr); v("train_bn", p.train_bn); v("bn_calibration", p.bn_calibration);
  v("lr_decay_per_stage", p.lr_decay_per_stage); v("freeze_stages", p.freeze_stages); v("ema", p.ema);
  Named<OptimizerKind> optimizer{o.optimizer.kind, optimizer_kind_name, parse_optimizer_kind};
  v("optimizer", optimizer);
  v("momentum", o.optimizer.momentum); v("nesterov", o.optimizer.nesterov); v("weight_decay", o.optimizer.weight_decay);
  v("clip_grad", o.optimizer.clip_grad);
  Named<ScheduleKind> schedule{o.schedule.kind, schedule_kind_name, parse_schedule_kind};
  v("schedule", schedule);
  v("warmup_epochs", o.schedule.warmup_epochs); v("min_lr_ratio", o.schedule.min_ratio); v("step_gamma", o.schedule.gamma);
  v("step_every", o.schedule.step_every); v("plateau_patience", o.schedule.plateau_patience);
  NamedOptional<LossKind> loss{o.loss.kind, loss_name, parse_loss};
  v("loss", loss);
  v("focal_gamma", o.loss.focal_gamma); v("label_smoothing", o.loss.label_smoothing);
  v("class_weights", o.loss.class_weights);
  v("batch", o.sampling.batch);
  NamedOptional<data::Sampler> sampler{o.sampling.sampler, sampler_text, parse_sampler_text};
  v("sampler", sampler);
  v("rare_share", o.sampling.rare_share);
  auto& c = o.checkpoints;
  NamedOptional<Monitor> monitor{c.monitor, monitor_key, parse_monitor_key};
  v("monitor", monitor);
  v("patience", c.patience); v("min_delta", c.min_delta); v("choose_threshold", c.choose_threshold);
  v("collapse_guard", c.collapse_guard); v("collapse_lr_factor", c.collapse_lr_factor); v("resume", c.resume);
  v("deterministic", c.deterministic);
  auto& a = o.augment;
  v("augment", a.enabled); v("dihedral", a.dihedral); v("crop_scale", a.crop_scale); v("crop_ratio", a.crop_ratio);
  v("jitter", a.jitter); v("mixup", a.mixup); v("cutmix", a.cutmix);
  Named<infer::Precision> amp{o.runtime.amp, infer::precision_name, parse_amp};
  v("amp", amp);
  v("channels_last", o.runtime.channels_last); v("log_every", o.runtime.log_every);
  v("lr_find", o.lr_find.enabled); v("lr_find_min", o.lr_find.min_lr); v("lr_find_max", o.lr_find.max_lr);
  v("lr_find_steps", o.lr_find.steps);
}

void require(bool ok, const char* field, const std::string& problem) {
  if (!ok) throw_option(field, problem);
}

std::string text(double value) { return std::to_string(value); }

}  // namespace

TrainOptions finetune_defaults() {
  TrainOptions options;
  options.phases.head_epochs = -1;  // 2 with a new head, else 0: the plan decides
  options.phases.lr = 1e-4;
  options.schedule.warmup_epochs = 0.0;
  return options;
}

nlohmann::json to_json(const TrainOptions& options) {
  nlohmann::json json = nlohmann::json::object();
  TrainOptions copy = options;
  visit_fields(copy, [&json](const char* key, auto& value) { write_json(json, key, value); });
  return json;
}

TrainOptions train_options_from_json(const nlohmann::json& json, const std::string& origin) {
  TrainOptions options;
  visit_fields(options, [&](const char* key, auto& value) {
    if (!json.contains(key)) return;
    try {
      read_json(json, key, value);
    } catch (const nlohmann::json::exception&) {
      throw_bad_data("reading " + origin + ": option '" + key + "' has the wrong type (" + json.at(key).dump() + ")");
    } catch (const Error& error) {
      throw_bad_data("reading " + origin + ": " + error.what());
    }
  });
  return options;
}

void validate(const TrainOptions& o) {
  const auto& p = o.phases;
  require(p.head_epochs >= -1 && p.head_epochs <= 100000, "head_epochs", "must be in [0, 100000], got " + std::to_string(p.head_epochs));
  require(p.epochs >= 0 && p.epochs <= 100000, "epochs", "must be in [0, 100000], got " + std::to_string(p.epochs));
  require(p.head_epochs != 0 || p.epochs > 0 || o.lr_find.enabled, "epochs",
          "and head_epochs are both 0: nothing to train");
  // A rate above 10 is no rate: it only ever yields NaN weights.
  require(std::isfinite(p.head_lr) && p.head_lr > 0 && p.head_lr <= 10, "head_lr", "must be in (0, 10], got " + text(p.head_lr));
  require(!p.lr || (std::isfinite(*p.lr) && *p.lr > 0 && *p.lr <= 10), "lr", "must be in (0, 10], got " + text(p.lr.value_or(0)));
  require(p.bn_calibration >= 0 && p.bn_calibration <= 1000000, "bn_calibration",
          "must be in [0, 1000000] (0 = off), got " + std::to_string(p.bn_calibration));
  require(p.lr_decay_per_stage > 0 && p.lr_decay_per_stage <= 1, "lr_decay_per_stage",
          "must be in (0, 1], got " + text(p.lr_decay_per_stage));
  require(p.freeze_stages >= -1 && p.freeze_stages <= 100, "freeze_stages",
          "must be >= 0 (or -1 for the backbone's default), got " + std::to_string(p.freeze_stages));
  require(p.ema >= 0 && p.ema < 1, "ema", "must be in [0, 1) (0 = off; 0.999 is typical), got " + text(p.ema));

  const auto& d = o.data;
  require(d.input_size == 0 || (d.input_size >= 16 && d.input_size <= 4096), "input_size",
          "must be 0 (the model's default) or in [16, 4096], got " + std::to_string(d.input_size));
  require(d.in_channels >= 1 && d.in_channels <= 64, "in_channels", "must be in [1, 64], got " + std::to_string(d.in_channels));

  require(o.sampling.batch >= 1 && o.sampling.batch <= 65536, "batch", "must be in [1, 65536], got " + std::to_string(o.sampling.batch));
  require(o.sampling.rare_share > 0 && o.sampling.rare_share <= 0.5, "rare_share",
          "must be in (0, 0.5], got " + text(o.sampling.rare_share));
  require(o.optimizer.momentum >= 0 && o.optimizer.momentum < 1, "momentum", "must be in [0, 1), got " + text(o.optimizer.momentum));
  require(o.optimizer.weight_decay >= 0 && o.optimizer.weight_decay <= 1, "weight_decay",
          "must be in [0, 1], got " + text(o.optimizer.weight_decay));
  require(o.optimizer.clip_grad >= 0 && o.optimizer.clip_grad <= 1e6, "clip_grad", "must be in [0, 1e6] (0 = off), got " + text(o.optimizer.clip_grad));
  validate(o.schedule);
  require(o.loss.label_smoothing >= 0 && o.loss.label_smoothing < 1, "label_smoothing",
          "must be in [0, 1), got " + text(o.loss.label_smoothing));
  require(o.loss.focal_gamma >= 0 && o.loss.focal_gamma <= 10, "focal_gamma", "must be in [0, 10], got " + text(o.loss.focal_gamma));

  const auto& c = o.checkpoints;
  require(c.patience >= 0, "patience", "must be >= 0, got " + std::to_string(c.patience));
  require(c.min_delta >= 0 && c.min_delta < 1e6, "min_delta", "must be >= 0, got " + text(c.min_delta));
  if (c.choose_threshold != "auto" && c.choose_threshold != "none") {
    try {
      eval::parse_threshold_criterion(c.choose_threshold);
    } catch (const Error& error) {
      throw_option("choose_threshold", std::string("is not auto, none or a rule: ") + error.what());
    }
  }
  require(c.collapse_lr_factor > 0 && c.collapse_lr_factor < 1, "collapse_lr_factor",
          "must be in (0, 1), got " + text(c.collapse_lr_factor));
  validate(o.augment);
  require(o.runtime.log_every >= 1, "log_every", "must be >= 1, got " + std::to_string(o.runtime.log_every));
  require(o.lr_find.min_lr > 0 && o.lr_find.max_lr > o.lr_find.min_lr && o.lr_find.max_lr <= 100, "lr_find_min",
          "must be > 0 and below lr_find_max (at most 100)");
  require(o.lr_find.steps >= 5 && o.lr_find.steps <= 100000, "lr_find_steps",
          "must be in [5, 100000], got " + std::to_string(o.lr_find.steps));
}

}  // namespace satx::train
