#include "satx/train/early_stopping.hpp"

#include <algorithm>
#include <cmath>

#include "satx/core/error.hpp"

namespace satx::train {

const std::vector<std::string>& monitor_names() {
  static const std::vector<std::string> names = {"val_accuracy", "val_loss", "val_macro_f1", "val_auc", "val_ap"};
  return names;
}

bool monitor_maximized(const std::string& monitor) {
  const auto& names = monitor_names();
  if (std::find(names.begin(), names.end(), monitor) == names.end())
    throw_usage(unknown_value_message("-monitor", monitor, names));
  return monitor != "val_loss";
}

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  maximize_ = monitor_maximized(options_.monitor);
  if (options_.patience < 0) throw_usage("-patience must be >= 0, got " + std::to_string(options_.patience));
  if (options_.min_delta < 0) throw_usage("-min-delta must be >= 0, got " + std::to_string(options_.min_delta));
}

bool EarlyStopping::update(double value) {
  // A NaN metric (diverged training) never counts as an improvement.
  const bool improved = std::isfinite(value) &&
                        (!has_best_ || (maximize_ ? value > best_ + options_.min_delta : value < best_ - options_.min_delta));
  if (improved) {
    best_ = value;
    has_best_ = true;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return improved;
}

bool EarlyStopping::should_stop() const { return options_.patience > 0 && bad_epochs_ >= options_.patience; }

nlohmann::json EarlyStopping::state() const {
  return {{"has_best", has_best_}, {"best", best_}, {"bad_epochs", bad_epochs_}};
}

void EarlyStopping::load_state(const nlohmann::json& state) {
  has_best_ = state.at("has_best").get<bool>();
  best_ = state.at("best").get<double>();
  bad_epochs_ = state.at("bad_epochs").get<int>();
}

}  // namespace satx::train
