#pragma once
/// Learning-rate schedules: a factor of the peak rate per optimizer step, plus the epoch-level
/// feedback the plateau schedule needs.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace satx::train {

/// Configures an LrSchedule.
struct ScheduleOptions {
  /// "cosine" (linear warm-up, then half a cosine), "onecycle", "step", "plateau", "constant".
  std::string kind = "cosine";
  int64_t steps_per_epoch = 1;
  int epochs = 1;
  /// cosine: warm-up length in epochs (fractions allowed).
  double warmup_epochs = 0.0;
  /// cosine/onecycle: the last step runs at this fraction of the peak.
  double min_ratio = 0.0;
  /// step/plateau: multiply the rate by this at each decay.
  double gamma = 0.1;
  /// step: epochs between decays.
  int step_every = 3;
  /// plateau: epochs without improvement before a decay.
  int plateau_patience = 1;
  /// plateau: whether larger metric values are better.
  bool maximize = true;
  /// plateau: smallest change that counts as an improvement.
  double min_delta = 0.0;
  /// onecycle: fraction of the run spent rising, and the start/end divisors (PyTorch's defaults).
  double onecycle_rise = 0.3;
  double onecycle_div = 25.0;
  double onecycle_final_div = 1e4;
};

/// The schedule kinds, for validation and help text.
const std::vector<std::string>& schedule_kinds();

/// A learning-rate schedule as a multiplier of each parameter group's peak rate.
class LrSchedule {
 public:
  /// Validates `options` (Usage error naming the bad value).
  explicit LrSchedule(ScheduleOptions options);

  /// The multiplier for 0-based optimizer step `step` of the phase.
  double factor(int64_t step) const;

  /// Epoch-level feedback (the plateau schedule decays when `metric` stops improving).
  void end_epoch(double metric);

  /// Everything end_epoch changed, for resume.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

  const ScheduleOptions& options() const { return options_; }

 private:
  ScheduleOptions options_;
  int64_t total_steps_ = 1;
  // plateau state
  double plateau_factor_ = 1.0;
  double plateau_best_ = 0.0;
  bool plateau_has_best_ = false;
  int plateau_bad_epochs_ = 0;
};

}  // namespace satx::train
