#pragma once
/// Tracks the monitored validation metric: which epoch is best, and when to stop.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace satx::train {

/// The validation metric best.safetensors, early stopping and the plateau schedule follow.
enum class Monitor { Accuracy, Loss, MacroF1, Auc, Ap };

/// The metrics-line key of `monitor`: "val_accuracy", "val_loss", "val_macro_f1", "val_auc", "val_ap".
const char* monitor_key(Monitor monitor);
/// Parses a key monitor_key() returns; Usage error naming `flag` and the choices otherwise.
Monitor parse_monitor(const std::string& key, const std::string& flag = "-monitor");
/// Whether larger values are better (all but val_loss).
bool maximized(Monitor monitor);
/// Whether `monitor` exists only for two classes (val_auc, val_ap).
bool needs_two_classes(Monitor monitor);

/// Configures EarlyStopping.
struct EarlyStoppingOptions {
  Monitor monitor = Monitor::Accuracy;
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
