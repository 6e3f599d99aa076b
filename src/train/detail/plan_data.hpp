#pragma once
// The data side of a training plan: the splits discovered, checked and labelled in the run's
// class order.

#include <spdlog/logger.h>

#include "satx/models/model_file.hpp"
#include "satx/train/plan.hpp"

namespace satx::train::detail {

// Discovers plan.options' -train (with -add-train), -valid and -test folders into the plan,
// checks they share one class set and have images, and labels them in the class order: the
// plan's own when already set (a resume), else `from`'s when it holds the same classes (a
// finetune), else sorted. A finetune onto other classes needs -new-head (Usage error naming the
// differences).
void load_plan_data(TrainPlan& plan, const models::ModelMetadata* from, spdlog::logger& log);

}  // namespace satx::train::detail
