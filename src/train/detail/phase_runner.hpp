#pragma once
// The epochs of one phase: train, validate, guard against collapse, keep the best, checkpoint.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/train/checkpoint.hpp"
#include "satx/train/early_stopping.hpp"
#include "satx/train/schedule.hpp"
#include "satx/train/trainer.hpp"
#include "train/detail/run_files.hpp"
#include "train/detail/session.hpp"

namespace satx::train::detail {

// What carries over between epochs and phases, and into state.pt for a resume.
struct RunBook {
  std::vector<nlohmann::json> history;             // metrics.jsonl's epoch lines
  nlohmann::json best_line;                        // the best epoch's line (null before the first)
  nlohmann::json early_stopping;                   // EarlyStopping::state() across phases
  nlohmann::json schedule = nlohmann::json::object();  // LrSchedule::state() within a phase
  double lr_scale = 1.0;                           // phase 2's rate relative to -lr, lowered by each rollback
  int rollbacks = 0;
  nlohmann::json snapshot_origin;                  // the epoch whose weights a rollback restores

  nlohmann::json to_json(const EarlyStopping& stopping, const LrSchedule& schedule, bool stopped_early) const;
  void restore(const nlohmann::json& trainer);
};

class PhaseRunner {
 public:
  PhaseRunner(Session& session, RunFiles& files, TrainState& state, RunBook& book, TrainResult& result)
      : session_(session), files_(files), state_(state), book_(book), result_(result) {}

  // Runs `phase` from epoch `first` (epochs already done) to `epochs`; `final_phase` marks the
  // run finished when this phase ends.
  void run(Phase phase, int epochs, int first, bool final_phase);

 private:
  // Why the epoch in `line`, which did not improve on the best, looks like a collapse ("" when not).
  std::string collapse_reason(const nlohmann::json& line, const EarlyStopping& stopping) const;
  // The collapse guard's reaction: the kept weights back, a fresh optimizer, a lower rate.
  void roll_back(nlohmann::json& line, const std::string& reason, Phase phase, int epoch, int epochs);

  static constexpr int kMaxRollbacks = 2;
  Session& session_;
  RunFiles& files_;
  TrainState& state_;
  RunBook& book_;
  TrainResult& result_;
};

}  // namespace satx::train::detail
