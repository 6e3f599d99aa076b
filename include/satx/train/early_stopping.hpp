#pragma once
/// Tracks the monitored validation metric: which epoch is best, and when to stop.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace satx::train {

/// The metrics `-monitor` accepts.
const std::vector<std::string>& monitor_names();

/// Whether larger values of `monitor` are better (val_loss is the one minimized).
/// Usage error naming it when unknown.
bool monitor_maximized(const std::string& monitor);

/// Configures EarlyStopping.
struct EarlyStoppingOptions {
  std::string monitor = "val_accuracy";
  /// Epochs without improvement before should_stop(); 0 never stops.
  int patience = 0;
  /// Smallest change that counts as an improvement.
  double min_delta = 0.0;
};

/// Best-so-far tracking with patience.
class EarlyStopping {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options);

  /// Records one epoch's value; returns whether it improved on the best (the first always does).
  bool update(double value);
  /// Whether `patience` epochs in a row failed to improve.
  bool should_stop() const;
  /// Starts counting patience afresh (a new phase) while keeping the best value.
  void reset_patience() { bad_epochs_ = 0; }

  bool has_best() const { return has_best_; }
  double best() const { return best_; }
  int bad_epochs() const { return bad_epochs_; }
  const EarlyStoppingOptions& options() const { return options_; }

  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  EarlyStoppingOptions options_;
  bool maximize_ = true;
  bool has_best_ = false;
  double best_ = 0.0;
  int bad_epochs_ = 0;
};

}  // namespace satx::train
