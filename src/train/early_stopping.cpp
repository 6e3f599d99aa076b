#include "satx/train/early_stopping.hpp"

#include <algorithm>
#include <cmath>

#include "satx/core/error.hpp"

namespace satx::train {

namespace {

const std::vector<std::pair<Monitor, const char*>>& monitor_table() {
  static const std::vector<std::pair<Monitor, const char*>> table = {{Monitor::Accuracy, "val_accuracy"},
                                                                     {Monitor::Loss, "val_loss"},
                                                                     {Monitor::MacroF1, "val_macro_f1"},
                                                                     {Monitor::Auc, "val_auc"},
                                                                     {Monitor::Ap, "val_ap"}};
  return table;
}

}  // namespace

const char* monitor_key(Monitor monitor) {
  for (const auto& [value, key] : monitor_table())
    if (value == monitor) return key;
  return "val_accuracy";
}

Monitor parse_monitor(const std::string& key, const std::string& flag) {
  std::vector<std::string> keys;
  for (const auto& [value, name] : monitor_table()) {
    if (key == name) return value;
    keys.push_back(name);
  }
  throw_usage(unknown_value_message(flag, key, keys));
}

bool maximized(Monitor monitor) { return monitor != Monitor::Loss; }

bool needs_two_classes(Monitor monitor) { return monitor == Monitor::Auc || monitor == Monitor::Ap; }

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  maximize_ = maximized(options_.monitor);
  if (options_.patience < 0) throw_option("patience", "must be >= 0, got " + std::to_string(options_.patience));
  if (!(options_.min_delta >= 0)) throw_option("min_delta", "must be >= 0, got " + std::to_string(options_.min_delta));
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
