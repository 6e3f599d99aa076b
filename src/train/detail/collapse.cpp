#include "train/detail/collapse.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace satx::train::detail {

double chance_level(const std::string& monitor, const std::vector<int64_t>& counts) {
  double total = 0;
  for (int64_t count : counts) total += static_cast<double>(count);
  if (total == 0) return 0;
  const double majority = static_cast<double>(*std::max_element(counts.begin(), counts.end())) / total;
  const auto k = static_cast<double>(counts.size());
  if (monitor == "val_accuracy") return majority;
  // F1 of the majority class when it takes every tile; the others score 0.
  if (monitor == "val_macro_f1") return 2 * majority / (1 + majority) / k;
  if (monitor == "val_auc") return 0.5;
  if (monitor == "val_ap") return counts.size() == 2 ? static_cast<double>(counts[1]) / total : 0;
  double entropy = 0;  // val_loss of predicting the class priors
  for (int64_t count : counts)
    if (count > 0) entropy -= static_cast<double>(count) / total * std::log(static_cast<double>(count) / total);
  return entropy;
}

std::string collapse_reason(const CollapseCheck& c) {
  char text[240];
  if (!std::isfinite(c.value)) {
    std::snprintf(text, sizeof text, "%s is not a number (the weights diverged)", c.monitor.c_str());
    return text;
  }
  const bool worse = c.maximize ? c.value < c.best : c.value > c.best;
  if (!worse) return {};
  if (c.classes_predicted == 1 && c.classes_in_validation > 1 && c.best_classes_predicted > 1) {
    std::snprintf(text, sizeof text, "every validation tile was given one class (%s %.4f, best %.4f)", c.monitor.c_str(),
                  c.value, c.best);
    return text;
  }
  const double margin = c.maximize ? c.best - c.chance : c.chance - c.best;
  if (!(margin > 0)) return {};
  const bool collapsed = c.maximize ? c.value < c.best - margin / 2 : c.value > c.best + margin / 2;
  if (!collapsed) return {};
  std::snprintf(text, sizeof text, "%s fell to %.4f from the best %.4f, more than half of the way to chance (%.4f)",
                c.monitor.c_str(), c.value, c.best, c.chance);
  return text;
}

}  // namespace satx::train::detail
