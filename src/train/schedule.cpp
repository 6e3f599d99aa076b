#include "satx/train/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "satx/core/error.hpp"

namespace satx::train {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Half a cosine from `from` to `to` as `progress` goes 0 -> 1.
double cosine_between(double from, double to, double progress) {
  progress = std::clamp(progress, 0.0, 1.0);
  return to + (from - to) * 0.5 * (1.0 + std::cos(kPi * progress));
}

}  // namespace

ScheduleKind parse_schedule_kind(const std::string& text, const std::string& flag) {
  if (text == "cosine") return ScheduleKind::Cosine;
  if (text == "onecycle") return ScheduleKind::OneCycle;
  if (text == "step") return ScheduleKind::Step;
  if (text == "plateau") return ScheduleKind::Plateau;
  if (text == "constant") return ScheduleKind::Constant;
  throw_usage(unknown_value_message(flag, text, {"cosine", "onecycle", "step", "plateau", "constant"}));
}

const char* schedule_kind_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Cosine: return "cosine";
    case ScheduleKind::OneCycle: return "onecycle";
    case ScheduleKind::Step: return "step";
    case ScheduleKind::Plateau: return "plateau";
    case ScheduleKind::Constant: return "constant";
  }
  return "cosine";
}

void validate(const ScheduleOptions& o) {
  if (!(o.warmup_epochs >= 0 && o.warmup_epochs <= 1000))
    throw_option("warmup_epochs", "must be in [0, 1000], got " + std::to_string(o.warmup_epochs));
  if (!(o.min_ratio >= 0 && o.min_ratio <= 1)) throw_option("min_lr_ratio", "must be in [0, 1], got " + std::to_string(o.min_ratio));
  if (!(o.gamma > 0 && o.gamma <= 1)) throw_option("step_gamma", "must be in (0, 1], got " + std::to_string(o.gamma));
  if (o.step_every < 1) throw_option("step_every", "must be >= 1, got " + std::to_string(o.step_every));
  if (o.plateau_patience < 0) throw_option("plateau_patience", "must be >= 0, got " + std::to_string(o.plateau_patience));
}

LrSchedule::LrSchedule(ScheduleOptions options, ScheduleShape shape) : options_(std::move(options)), shape_(shape) {
  validate(options_);
  if (shape_.steps_per_epoch < 1) shape_.steps_per_epoch = 1;
  if (shape_.epochs < 1) shape_.epochs = 1;
  total_steps_ = shape_.steps_per_epoch * shape_.epochs;
}

double LrSchedule::factor(int64_t step) const {
  const auto& o = options_;
  const double last = static_cast<double>(std::max<int64_t>(total_steps_ - 1, 1));
  if (o.kind == ScheduleKind::Constant) return 1.0;
  if (o.kind == ScheduleKind::Step) return std::pow(o.gamma, static_cast<double>(step / shape_.steps_per_epoch / o.step_every));
  if (o.kind == ScheduleKind::Plateau) return plateau_factor_;
  if (o.kind == ScheduleKind::OneCycle) {
    // PyTorch's OneCycleLR (cosine annealing): peak/div -> peak over the rise, then -> peak/final_div.
    const double rise_end = std::max(1.0, o.onecycle_rise * last);
    const double start = 1.0 / o.onecycle_div;
    const double end = std::max(start / o.onecycle_final_div, o.min_ratio);
    if (step <= rise_end) return cosine_between(start, 1.0, step / rise_end);
    return cosine_between(1.0, end, (step - rise_end) / std::max(1.0, last - rise_end));
  }
  // cosine with linear warm-up; the warm-up starts above zero so the first step moves the weights.
  const double warmup = o.warmup_epochs * static_cast<double>(shape_.steps_per_epoch);
  if (warmup >= 1.0 && step < warmup) return (step + 1.0) / (warmup + 1.0);
  const double decay_start = warmup >= 1.0 ? warmup : 0.0;
  return cosine_between(1.0, o.min_ratio, (step - decay_start) / std::max(1.0, last - decay_start));
}

void LrSchedule::end_epoch(double metric) {
  if (options_.kind != ScheduleKind::Plateau || !std::isfinite(metric)) return;
  const bool improved = !plateau_has_best_ ||
                        (shape_.maximize ? metric > plateau_best_ + shape_.min_delta
                                         : metric < plateau_best_ - shape_.min_delta);
  if (improved) {
    plateau_best_ = metric;
    plateau_has_best_ = true;
    plateau_bad_epochs_ = 0;
    return;
  }
  if (++plateau_bad_epochs_ > options_.plateau_patience) {
    plateau_factor_ *= options_.gamma;
    plateau_bad_epochs_ = 0;
  }
}

nlohmann::json LrSchedule::state() const {
  return {{"plateau_factor", plateau_factor_},
          {"plateau_best", plateau_best_},
          {"plateau_has_best", plateau_has_best_},
          {"plateau_bad_epochs", plateau_bad_epochs_}};
}

void LrSchedule::load_state(const nlohmann::json& state) {
  plateau_factor_ = state.at("plateau_factor").get<double>();
  plateau_best_ = state.at("plateau_best").get<double>();
  plateau_has_best_ = state.at("plateau_has_best").get<bool>();
  plateau_bad_epochs_ = state.at("plateau_bad_epochs").get<int>();
}

}  // namespace satx::train
