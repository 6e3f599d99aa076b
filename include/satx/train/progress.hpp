#pragma once
/// How the trainer reports progress: a callback the caller (the CLI) renders.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace satx::train {

/// Named scalar values in display order, e.g. {"loss", 0.31}, {"acc", 0.87}.
using MetricList = std::vector<std::pair<std::string, double>>;

/// One progress report.
struct ProgressEvent {
  enum class Kind {
    PhaseStart,  ///< a phase begins (`phase`, `epochs`)
    EpochStart,  ///< an epoch begins (`steps` known)
    Step,        ///< `step` of `steps` done; `metrics` are running means
    EpochEnd,    ///< the epoch is done; `metrics` hold training and validation values
    Stage,       ///< a slow step outside epochs (feature caching, test pass): `label`, step/steps
  };
  Kind kind = Kind::Step;
  std::string phase;   ///< "head" (frozen backbone), "full", "lr-find", "test"
  std::string label;   ///< what a Stage event is doing
  int epoch = 0;       ///< 1-based within the phase
  int epochs = 0;      ///< epochs in the phase
  int64_t step = 0;    ///< steps done in this epoch or stage
  int64_t steps = 0;   ///< steps in this epoch or stage
  double seconds = 0;  ///< wall time since the epoch or stage began
  MetricList metrics;
  std::string unit = "batch";  ///< what a Stage event's steps count (last: positional initializers omit it)
};

/// Receives progress; called on the training thread, so it should be quick.
using ProgressCallback = std::function<void(const ProgressEvent&)>;

}  // namespace satx::train
