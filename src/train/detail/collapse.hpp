#pragma once
// The collapse guard's rule: when a phase-2 epoch has wrecked what the network had learned.

#include <cstdint>
#include <string>
#include <vector>

namespace satx::train::detail {

// What `monitor` scores for a network that gives every validation tile the majority class
// (accuracy, macro F1) or the class priors (loss); 0.5 for AUC, the positive share for AP.
// `counts` are the validation tiles per class.
double chance_level(const std::string& monitor, const std::vector<int64_t>& counts);

// One epoch's validation, as the guard sees it.
struct CollapseCheck {
  std::string monitor;         // e.g. val_ap
  bool maximize = true;        // false for val_loss
  double value = 0;            // this epoch's monitored value (NaN when it diverged)
  double best = 0;             // the best epoch's so far
  double chance = 0;           // chance_level(monitor, ...)
  int64_t classes_predicted = 0;       // this epoch: classes given to at least one tile
  int64_t best_classes_predicted = 0;  // the best epoch's
  int64_t classes_in_validation = 0;   // classes with a validation tile
};

// Why the epoch looks like a collapse, or "" when it does not: the value is not finite or has
// lost more than half of the best epoch's margin over chance, or every tile got one class
// although the best epoch told classes apart (and the value is below the best).
std::string collapse_reason(const CollapseCheck& check);

}  // namespace satx::train::detail
