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

const std::vector<std::string>& schedule_kinds() {
  static const std::vector<std::string> kinds = {"cosine", "onecycle", "step", "plateau", "constant"};
  return kinds;
}

LrSchedule::LrSchedule(ScheduleOptions options) : options_(std::move(options)) {
  const auto& kinds = schedule_kinds();
  if (std::find(kinds.begin(), kinds.end(), options_.kind) == kinds.end())
    throw_usage(unknown_value_message("-schedule", options_.kind, kinds));
  if (options_.steps_per_epoch < 1) options_.steps_per_epoch = 1;
  if (options_.epochs < 1) options_.epochs = 1;
  if (options_.warmup_epochs < 0) throw_usage("-warmup-epochs must be >= 0, got " + std::to_string(options_.warmup_epochs));
  if (options_.min_ratio < 0 || options_.min_ratio > 1)
    throw_usage("-min-lr-ratio must be in [0, 1], got " + std::to_string(options_.min_ratio));
  if (options_.gamma <= 0 || options_.gamma > 1) throw_usage("-step-gamma must be in (0, 1], got " + std::to_string(options_.gamma));
  if (options_.step_every < 1) throw_usage("-step-every must be >= 1, got " + std::to_string(options_.step_every));
  if (options_.plateau_patience < 0)
    throw_usage("-plateau-patience must be >= 0, got " + std::to_string(options_.plateau_patience));
  total_steps_ = options_.steps_per_epoch * options_.epochs;
}

double LrSchedule::factor(int64_t step) const {
  const auto& o = options_;
  const double last = static_cast<double>(std::max<int64_t>(total_steps_ - 1, 1));
  if (o.kind == "constant") return 1.0;
  if (o.kind == "step") return std::pow(o.gamma, static_cast<double>(step / o.steps_per_epoch / o.step_every));
  if (o.kind == "plateau") return plateau_factor_;
  if (o.kind == "onecycle") {
    // PyTorch's OneCycleLR (cosine annealing): peak/div -> peak over the rise, then -> peak/final_div.
    const double rise_end = std::max(1.0, o.onecycle_rise * last);
    const double start = 1.0 / o.onecycle_div;
    const double end = std::max(start / o.onecycle_final_div, o.min_ratio);
    if (step <= rise_end) return cosine_between(start, 1.0, step / rise_end);
    return cosine_between(1.0, end, (step - rise_end) / std::max(1.0, last - rise_end));
  }
  // cosine with linear warm-up; the warm-up starts above zero so the first step moves the weights.
  const double warmup = o.warmup_epochs * static_cast<double>(o.steps_per_epoch);
  if (warmup >= 1.0 && step < warmup) return (step + 1.0) / (warmup + 1.0);
  const double decay_start = warmup >= 1.0 ? warmup : 0.0;
  return cosine_between(1.0, o.min_ratio, (step - decay_start) / std::max(1.0, last - decay_start));
}

void LrSchedule::end_epoch(double metric) {
  if (options_.kind != "plateau" || !std::isfinite(metric)) return;
  const bool improved = !plateau_has_best_ ||
                        (options_.maximize ? metric > plateau_best_ + options_.min_delta
                                           : metric < plateau_best_ - options_.min_delta);
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
