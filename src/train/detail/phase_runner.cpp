#include "train/detail/phase_runner.hpp"

#include <chrono>
#include <cmath>

#include "satx/core/strings.hpp"
#include "train/detail/collapse.hpp"

using json = nlohmann::json;

namespace satx::train::detail {

json RunBook::to_json(const EarlyStopping& stopping, const LrSchedule& schedule, bool stopped_early) const {
  return {{"history", history},         {"best", best_line},   {"early_stopping", stopping.state()},
          {"schedule", schedule.state()}, {"stopped_early", stopped_early}, {"lr_scale", lr_scale},
          {"rollbacks", rollbacks}};
}

void RunBook::restore(const json& t) {
  for (const auto& line : t.at("history")) history.push_back(line);
  if (!t.at("best").is_null()) best_line = t.at("best");
  early_stopping = t.at("early_stopping");
  schedule = t.at("schedule");
  lr_scale = t.value("lr_scale", 1.0);
  rollbacks = t.value("rollbacks", 0);
}

std::string PhaseRunner::collapse_reason(const json& line, const EarlyStopping& stopping) const {
  if (!stopping.has_best() || !book_.best_line.is_object()) return {};
  const Monitor monitor = session_.plan().monitor();
  CollapseCheck check;
  check.monitor = monitor_key(monitor);
  check.maximize = maximized(monitor);
  check.value = line.value(check.monitor, std::nan(""));
  check.best = stopping.best();
  check.chance = session_.chance_level(monitor);
  check.classes_predicted = line.value("val_classes_predicted", int64_t{0});
  check.best_classes_predicted = book_.best_line.value("val_classes_predicted", int64_t{0});
  check.classes_in_validation = session_.classes_in_validation();
  return detail::collapse_reason(check);
}

void PhaseRunner::roll_back(json& line, const std::string& reason, Phase phase, int epoch, int epochs) {
  const double lr = session_.plan().lr();
  session_.restore_snapshot();
  ++book_.rollbacks;
  const double before = lr * book_.lr_scale;
  book_.lr_scale *= session_.plan().options.checkpoints.collapse_lr_factor;
  line["collapse"] = reason;
  line["rolled_back_to"] = book_.snapshot_origin;
  line["next_lr"] = lr * book_.lr_scale;
  session_.log().warn("phase '{}' epoch {}/{} collapsed: {}. Rolled back to the weights after phase '{}' epoch {} and "
                      "lowered the learning rate from {:.3g} to {:.3g} (-collapse-guard)",
                      phase_name(phase), epoch + 1, epochs, reason, book_.snapshot_origin.value("phase", ""),
                      book_.snapshot_origin.value("epoch", 0), before, lr * book_.lr_scale);
}

void PhaseRunner::run(Phase phase, int epochs, int first, bool final_phase) {
  auto& s = session_;
  const auto& o = s.plan().options;
  const bool head = phase == Phase::Head;
  const std::string name = phase_name(phase);
  s.begin_phase(phase, /*fresh=*/first == 0);
  const int64_t steps = s.steps_per_epoch(phase);
  const Monitor monitor = s.plan().monitor();
  LrSchedule schedule(o.schedule, ScheduleShape{steps, epochs, maximized(monitor), o.checkpoints.min_delta});
  EarlyStopping stopping({monitor, o.checkpoints.patience, o.checkpoints.min_delta});

  if (first > 0) {
    // Mid-phase resume: the optimizer, schedule and patience continue where they were.
    restore_train_state(files_.path("state.pt"), s.network(), &s.optimizer(), s.average());
    schedule.load_state(book_.schedule);
    stopping.load_state(book_.early_stopping);
  } else if (!book_.early_stopping.is_null()) {
    // A new phase keeps the best value (best.safetensors competes across phases) but not the patience.
    stopping.load_state(book_.early_stopping);
    stopping.reset_patience();
  }
  if (head) book_.lr_scale = 1.0;
  const bool guarded = !head && o.checkpoints.collapse_guard;
  if (guarded) {
    // Phase 2 starts from the last weights before it (not always the best epoch's), so a
    // rollback before any phase-2 improvement returns there.
    s.take_snapshot();
    book_.snapshot_origin = book_.history.empty()
                                ? json{{"phase", "initial weights"}, {"epoch", 0}}
                                : json{{"phase", book_.history.back().value("phase", "")},
                                       {"epoch", book_.history.back().value("epoch", 0)}};
  }

  s.emit({ProgressEvent::Kind::PhaseStart, name, "", 0, epochs, 0, steps, 0, {}});
  bool stop = false;
  for (int epoch = first; epoch < epochs && !stop; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const int global_epoch = (head ? 0 : o.phases.head_epochs) + epoch;
    const double peak_lr = (head ? o.phases.head_lr : session_.plan().lr()) * book_.lr_scale;
    const auto stats = s.train_epoch(phase, epoch, epochs, global_epoch, schedule, peak_lr);
    const json validation = s.validate(phase);

    json line = {{"phase", name},  {"epoch", epoch + 1},           {"epochs", epochs},
                 {"global_epoch", global_epoch + 1}, {"lr", stats.lr}, {"train_loss", stats.loss()},
                 {"train_accuracy", stats.accuracy()}, {"monitor", monitor_key(monitor)}};
    line.update(validation);
    const double monitored = validation.value(monitor_key(monitor), std::nan(""));
    const bool improved = stopping.update(monitored);
    const std::string collapse = guarded && !improved ? collapse_reason(line, stopping) : std::string();
    schedule.end_epoch(monitored);
    line["seconds"] = seconds_since(epoch_start);
    line["improved"] = improved;
    if (!collapse.empty()) roll_back(line, collapse, phase, epoch, epochs);
    stop = (stopping.should_stop() || book_.rollbacks > kMaxRollbacks) && epoch + 1 < epochs;
    if (stop) result_.stopped_early = true;

    // Model files first, then the state that vouches for them, then the logs.
    if (improved) {
      book_.best_line = line;
      s.keep_best_validation();
      s.save_model(files_.path("best.safetensors"), line, "best");
      if (guarded) {
        s.take_snapshot();
        book_.snapshot_origin = {{"phase", name}, {"epoch", epoch + 1}};
      }
    }
    s.save_model(files_.path("last.safetensors"), line, "last");
    book_.history.push_back(line);
    state_.phase = name;
    state_.epoch = (stop || epoch + 1 == epochs) ? epochs : epoch + 1;
    state_.finished = final_phase && state_.epoch == epochs;
    state_.trainer = book_.to_json(stopping, schedule, result_.stopped_early);
    const bool phase_done = state_.epoch == epochs;
    save_train_state(files_.path("state.pt"), state_, s.network(), phase_done ? nullptr : &s.optimizer(),
                     phase_done ? nullptr : s.average());
    files_.append_metrics(line);
    files_.add_scalars(line, global_epoch + 1);
    ++result_.epochs_run;

    ProgressEvent end{ProgressEvent::Kind::EpochEnd, name, "", epoch + 1, epochs, steps, steps, line["seconds"], {}};
    for (const char* key : {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_macro_f1", "val_auc", "val_ap"})
      if (line.contains(key)) end.metrics.emplace_back(key, line[key].get<double>());
    s.emit(end);
    if (stop && book_.rollbacks > kMaxRollbacks)
      s.log().warn("phase '{}' stopped after epoch {}: it collapsed {} times", name, epoch + 1, book_.rollbacks);
    else if (stop)
      s.log().info("early stopping in phase '{}' after epoch {}: {} has not improved for {} epoch(s)", name, epoch + 1,
                   monitor_key(monitor), o.checkpoints.patience);
  }
  book_.early_stopping = stopping.state();
  book_.schedule = json::object();
  s.end_phase(phase);
}

}  // namespace satx::train::detail
