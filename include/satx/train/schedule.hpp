#pragma once
/// Learning-rate schedules: a factor of the peak rate per optimizer step, plus the epoch-level
/// feedback the plateau schedule needs.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace satx::train {

/// The schedules satx offers.
enum class ScheduleKind {
  Cosine,    ///< linear warm-up, then half a cosine
  OneCycle,  ///< PyTorch's OneCycleLR
  Step,      ///< multiply by gamma every step_every epochs
  Plateau,   ///< multiply by gamma when the monitored metric stalls
  Constant,
};

/// "cosine", "onecycle", "step", "plateau" or "constant"; a Usage error naming `flag` otherwise.
ScheduleKind parse_schedule_kind(const std::string& text, const std::string& flag = "-schedule");
const char* schedule_kind_name(ScheduleKind kind);

/// How the rate moves within a phase (the user's options; ScheduleShape gives the phase's size).
struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::Cosine;
  /// cosine: warm-up length in epochs (fractions allowed).
  double warmup_epochs = 0.3;
  /// cosine/onecycle: the last step runs at this fraction of the peak.
  double min_ratio = 0.0;
  /// step/plateau: multiply the rate by this at each decay.
  double gamma = 0.1;
  /// step: epochs between decays.
  int step_every = 3;
  /// plateau: epochs without improvement before a decay.
  int plateau_patience = 1;
  /// onecycle: fraction of the run spent rising, and the start/end divisors (PyTorch's defaults).
  double onecycle_rise = 0.3;
  double onecycle_div = 25.0;
  double onecycle_final_div = 1e4;
};

/// What a schedule spans and watches: the phase's size and its monitored metric.
struct ScheduleShape {
  int64_t steps_per_epoch = 1;
  int epochs = 1;
  bool maximize = true;    ///< plateau: whether larger metric values are better
  double min_delta = 0.0;  ///< plateau: smallest change that counts as an improvement
};

/// Checks `options` (Usage error naming the option field).
void validate(const ScheduleOptions& options);

/// A learning-rate schedule as a multiplier of each parameter group's peak rate.
class LrSchedule {
 public:
  /// Validates `options` (Usage error naming the option field).
  LrSchedule(ScheduleOptions options, ScheduleShape shape);

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
  ScheduleShape shape_;
  int64_t total_steps_ = 1;
  // plateau state
  double plateau_factor_ = 1.0;
  double plateau_best_ = 0.0;
  bool plateau_has_best_ = false;
  int plateau_bad_epochs_ = 0;
};

}  // namespace satx::train
