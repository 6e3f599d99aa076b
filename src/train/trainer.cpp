#include "satx/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/data/dataset.hpp"
#include "satx/eval/metrics.hpp"
#include "satx/models/model_file.hpp"
#include "satx/train/checkpoint.hpp"
#include "satx/train/early_stopping.hpp"
#include "train/detail/collapse.hpp"
#include "train/detail/initial_weights.hpp"
#include "train/detail/session.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace satx::train {

namespace {

using detail::Session;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string default_run_dir(const std::string& arch) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + arch + "-" + stamp;
}

// Options that may differ on a resume without changing the run (how it is watched, not what it computes).
TrainOptions keep_runtime_fields(TrainOptions saved, const TrainOptions& given) {
  saved.on_progress = given.on_progress;
  saved.log_every = given.log_every;
  saved.out = given.out;
  saved.resume = given.resume;
  return saved;
}

std::string describe_differences(const json& saved, const json& given) {
  std::string text;
  for (const auto& [key, value] : given.items()) {
    if (key == "out" || key == "resume" || key == "log_every") continue;
    if (saved.contains(key) && saved.at(key) != value)
      text += (text.empty() ? "" : ", ") + key + " (" + saved.at(key).dump() + " kept, " + value.dump() + " ignored)";
  }
  return text;
}

// Trains one run: the phases, checkpoints and resume bookkeeping around Session's loops.
class Trainer {
 public:
  Trainer(const TrainOptions& options, const Context& context) : given_(options), context_(context) {}

  TrainResult run() {
    start_ = std::chrono::steady_clock::now();
    prepare_run_dir();
    session_ = std::make_unique<Session>(options_, run_context_, resuming_ ? &config_ : nullptr);
    auto& s = *session_;
    options_ = s.options();  // with every "auto" resolved for this data
    if (!resuming_) {
      config_ = s.config();
      files_->write_config(config_);
      files_->write_classes(s.classes());
      files_->rewrite_metrics({});
    } else {
      restore_bookkeeping();
      restore_train_state(files_->path("state.pt"), s.network(), nullptr);
      files_->rewrite_metrics(history_);
      s.log().info("resuming {} after {} epoch(s) of phase '{}'", files_->dir().string(), state_.epoch, state_.phase);
    }

    const int head_epochs = options_.head_epochs, full_epochs = options_.epochs;
    int head_start = 0, full_start = 0;
    if (resuming_) {
      if (state_.phase == "head") head_start = state_.epoch;
      else head_start = head_epochs, full_start = state_.epoch;
    }
    if (head_start < head_epochs) run_phase("head", head_epochs, head_start, /*final_phase=*/full_epochs == 0);
    if (full_start < full_epochs) run_phase("full", full_epochs, full_start, true);
    finish_run();
    return result_;
  }

 private:
  void prepare_run_dir() {
    options_ = given_;
    validate(options_);
    const auto& manifest = models::find_manifest(options_.model);
    if (options_.out.empty()) options_.out = default_run_dir(manifest.arch);
    files_ = std::make_unique<detail::RunFiles>(options_.out);
    run_context_ = context_;
    const auto state_path = files_->path("state.pt");
    if (fs::exists(state_path)) {
      state_ = read_train_state(state_path);
      if (state_.finished)
        throw_usage("run directory " + files_->dir().string() + " holds a finished run; choose a new -out");
      config_ = files_->read_config();
      const TrainOptions saved = train_options_from_json(config_.at("options"), files_->path("config.json").string());
      const std::string differences = describe_differences(config_.at("options"), to_json(given_));
      options_ = keep_runtime_fields(saved, given_);
      run_context_.seed = config_.at("resolved").at("seed").get<uint64_t>();
      resuming_ = true;
      result_.resumed = true;
      if (!differences.empty())
        (context_.log ? context_.log : null_logger())
            ->warn("resuming with the run's saved options; differences: {}", differences);
    } else if (options_.resume) {
      throw_usage("-resume: " + files_->dir().string() + " has no state.pt to resume from");
    }
    result_.run_dir = files_->dir();
    result_.best_model = files_->path("best.safetensors");
    result_.last_model = files_->path("last.safetensors");
  }

  void restore_bookkeeping() {
    const json& t = state_.trainer;
    for (const auto& line : t.at("history")) history_.push_back(line);
    if (!t.at("best").is_null()) best_line_ = t.at("best");
    early_stopping_state_ = t.at("early_stopping");
    schedule_state_ = t.at("schedule");
    lr_scale_ = t.value("lr_scale", 1.0);
    rollbacks_ = t.value("rollbacks", 0);
  }

  json trainer_json(const EarlyStopping& stopping, const LrSchedule& schedule) const {
    return {{"history", history_},
            {"best", best_line_},
            {"early_stopping", stopping.state()},
            {"schedule", schedule.state()},
            {"stopped_early", result_.stopped_early},
            {"lr_scale", lr_scale_},
            {"rollbacks", rollbacks_}};
  }

  // Why the epoch in `line`, which did not improve on the best, looks like a collapse ("" when not).
  std::string collapse_reason(const json& line, const EarlyStopping& stopping) const {
    if (!stopping.has_best() || !best_line_.is_object()) return {};
    const auto& s = *session_;
    detail::CollapseCheck check;
    check.monitor = options_.monitor;
    check.maximize = monitor_maximized(options_.monitor);
    check.value = line.value(options_.monitor, std::nan(""));
    check.best = stopping.best();
    check.chance = s.chance_level(options_.monitor);
    check.classes_predicted = line.value("val_classes_predicted", int64_t{0});
    check.best_classes_predicted = best_line_.value("val_classes_predicted", int64_t{0});
    check.classes_in_validation = s.classes_in_validation();
    return detail::collapse_reason(check);
  }

  // One phase from epoch `first` (epochs already done) to `epochs`; `final_phase` marks the run
  // finished when this phase ends.
  void run_phase(const std::string& phase, int epochs, int first, bool final_phase) {
    auto& s = *session_;
    const bool head = phase == "head";
    s.begin_phase(phase, /*fresh=*/first == 0);
    const int64_t steps = s.steps_per_epoch(phase);

    ScheduleOptions schedule_options;
    schedule_options.kind = options_.schedule;
    schedule_options.steps_per_epoch = steps;
    schedule_options.epochs = epochs;
    schedule_options.warmup_epochs = options_.warmup_epochs;
    schedule_options.min_ratio = options_.min_lr_ratio;
    schedule_options.gamma = options_.step_gamma;
    schedule_options.step_every = options_.step_every;
    schedule_options.plateau_patience = options_.plateau_patience;
    schedule_options.maximize = monitor_maximized(options_.monitor);
    schedule_options.min_delta = options_.min_delta;
    LrSchedule schedule(schedule_options);
    EarlyStopping stopping({options_.monitor, options_.patience, options_.min_delta});

    if (first > 0) {
      // Mid-phase resume: the optimizer, schedule and patience continue where they were.
      restore_train_state(files_->path("state.pt"), s.network(), &s.optimizer(), s.average());
      schedule.load_state(schedule_state_);
      stopping.load_state(early_stopping_state_);
    } else if (!early_stopping_state_.is_null()) {
      // A new phase keeps the best value (best.safetensors competes across phases) but not the patience.
      stopping.load_state(early_stopping_state_);
      stopping.reset_patience();
    }
    if (head) lr_scale_ = 1.0;
    const bool guarded = !head && options_.collapse_guard;
    if (guarded) {
      // Phase 2 starts from the last weights before it (not always the best epoch's), so a
      // rollback before any phase-2 improvement returns there.
      s.take_snapshot();
      snapshot_origin_ = history_.empty() ? json{{"phase", "initial weights"}, {"epoch", 0}}
                                          : json{{"phase", history_.back().value("phase", "")},
                                                 {"epoch", history_.back().value("epoch", 0)}};
    }

    s.emit({ProgressEvent::Kind::PhaseStart, phase, "", 0, epochs, 0, steps, 0, {}});
    bool stop = false;
    for (int epoch = first; epoch < epochs && !stop; ++epoch) {
      const auto epoch_start = std::chrono::steady_clock::now();
      const int global_epoch = (head ? 0 : options_.head_epochs) + epoch;
      const double peak_lr = (head ? options_.head_lr : options_.lr) * lr_scale_;
      const auto train_stats = s.train_epoch(phase, epoch, epochs, global_epoch, schedule, peak_lr);
      const json validation = s.validate(phase);

      json line = {{"phase", phase}, {"epoch", epoch + 1}, {"epochs", epochs}, {"global_epoch", global_epoch + 1},
                   {"lr", train_stats.lr}, {"train_loss", train_stats.loss()}, {"train_accuracy", train_stats.accuracy()}};
      line.update(validation);
      const double monitored = validation.value(options_.monitor, std::nan(""));
      const bool improved = stopping.update(monitored);
      const std::string collapse = guarded && !improved ? collapse_reason(line, stopping) : std::string();
      schedule.end_epoch(monitored);
      line["seconds"] = seconds_since(epoch_start);
      line["improved"] = improved;
      if (!collapse.empty()) roll_back(line, collapse, phase, epoch, epochs);
      stop = (stopping.should_stop() || rollbacks_ > kMaxRollbacks) && epoch + 1 < epochs;
      if (stop) result_.stopped_early = true;

      // Model files first, then the state that vouches for them, then the logs.
      if (improved) {
        best_line_ = line;
        s.keep_best_validation();
        s.save_model(files_->path("best.safetensors"), line, "best");
        if (guarded) {
          s.take_snapshot();
          snapshot_origin_ = {{"phase", phase}, {"epoch", epoch + 1}};
        }
      }
      s.save_model(files_->path("last.safetensors"), line, "last");
      history_.push_back(line);
      state_.phase = phase;
      state_.epoch = (stop || epoch + 1 == epochs) ? epochs : epoch + 1;
      state_.finished = final_phase && state_.epoch == epochs;
      state_.trainer = trainer_json(stopping, schedule);
      const bool phase_done = state_.epoch == epochs;
      save_train_state(files_->path("state.pt"), state_, s.network(), phase_done ? nullptr : &s.optimizer(),
                       phase_done ? nullptr : s.average());
      files_->append_metrics(line);
      files_->add_scalars(line, global_epoch + 1);
      ++result_.epochs_run;

      ProgressEvent end{ProgressEvent::Kind::EpochEnd, phase, "", epoch + 1, epochs, steps, steps, line["seconds"], {}};
      for (const char* key : {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_macro_f1", "val_auc", "val_ap"})
        if (line.contains(key)) end.metrics.emplace_back(key, line[key].get<double>());
      s.emit(end);
      if (stop && rollbacks_ > kMaxRollbacks)
        s.log().warn("phase '{}' stopped after epoch {}: it collapsed {} times", phase, epoch + 1, rollbacks_);
      else if (stop)
        s.log().info("early stopping in phase '{}' after epoch {}: {} has not improved for {} epoch(s)", phase, epoch + 1,
                     options_.monitor, options_.patience);
    }
    early_stopping_state_ = stopping.state();
    schedule_state_ = json::object();
    s.end_phase(phase);
  }

  // The collapse guard's reaction: the kept weights back, a fresh optimizer, a lower rate.
  void roll_back(json& line, const std::string& reason, const std::string& phase, int epoch, int epochs) {
    auto& s = *session_;
    s.restore_snapshot();
    ++rollbacks_;
    const double before = options_.lr * lr_scale_;
    lr_scale_ *= options_.collapse_lr_factor;
    line["collapse"] = reason;
    line["rolled_back_to"] = snapshot_origin_;
    line["next_lr"] = options_.lr * lr_scale_;
    s.log().warn("phase '{}' epoch {}/{} collapsed: {}. Rolled back to the weights after phase '{}' epoch {} and "
                 "lowered the learning rate from {:.3g} to {:.3g} (-collapse-guard)",
                 phase, epoch + 1, epochs, reason, snapshot_origin_.value("phase", ""), snapshot_origin_.value("epoch", 0),
                 before, options_.lr * lr_scale_);
  }

  void finish_run() {
    auto& s = *session_;
    result_.best = best_line_;
    result_.last = history_.empty() ? json() : history_.back();
    if (best_line_.is_object() && best_line_.value("phase", "") == "head" && options_.epochs > 0 && options_.head_epochs > 0)
      s.log().warn("phase 2 never beat phase 1 on {}: best.safetensors is the phase-1 model (new head, backbone as "
                   "loaded)", options_.monitor);
    if (fs::exists(result_.best_model)) store_threshold();
    if (!options_.test_dir.empty() && fs::exists(result_.best_model)) {
      result_.test = s.test(result_.best_model);
      json line = result_.test;
      line["phase"] = "test";
      files_->append_metrics(line);
      files_->add_scalars(line, static_cast<int64_t>(history_.size()));
      auto metadata = models::read_model_metadata(result_.best_model);
      metadata.training["test"] = result_.test;
      models::update_model_metadata(result_.best_model, metadata);
    }
    result_.seconds = seconds_since(start_);
  }

  // Chooses the decision threshold on the validation split and stores it in best.safetensors.
  void store_threshold() {
    auto& s = *session_;
    auto metadata = models::read_model_metadata(result_.best_model);
    if (metadata.threshold) return;  // already chosen (a resumed run that finished its epochs)
    const auto point = s.choose_threshold(result_.best_model);
    if (!point) return;
    metadata.threshold = point->threshold;
    metadata.training["threshold"] = {{"criterion", options_.choose_threshold}, {"split", "valid"},
                                      {"precision", point->precision}, {"recall", point->recall}, {"f1", point->f1}};
    models::update_model_metadata(result_.best_model, metadata);
    result_.threshold = metadata.training["threshold"];
    result_.threshold["threshold"] = point->threshold;
    json line = result_.threshold;
    line["phase"] = "threshold";
    files_->append_metrics(line);
    s.log().info("decision threshold {:.4f} for '{}' chosen on the validation split (-choose-threshold={}): precision "
                 "{:.4f}, recall {:.4f}, F1 {:.4f}; stored in {}",
                 point->threshold, s.classes().at(1), options_.choose_threshold, point->precision, point->recall,
                 point->f1, result_.best_model.string());
  }

  static constexpr int kMaxRollbacks = 2;

  TrainOptions given_;
  TrainOptions options_;
  const Context& context_;
  Context run_context_;
  std::unique_ptr<detail::RunFiles> files_;
  std::unique_ptr<Session> session_;
  bool resuming_ = false;
  TrainState state_;
  json config_;
  std::vector<json> history_;
  json best_line_;
  json early_stopping_state_;
  json schedule_state_ = json::object();
  double lr_scale_ = 1.0;  // phase 2's rate relative to -lr, lowered by each rollback
  json snapshot_origin_;   // the epoch whose weights a rollback restores
  int rollbacks_ = 0;
  TrainResult result_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

TrainResult train(const TrainOptions& options, const Context& context) { return Trainer(options, context).run(); }

}  // namespace satx::train
