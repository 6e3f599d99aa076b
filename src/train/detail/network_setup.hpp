#pragma once
// The network a training plan starts from.

#include <memory>

#include <spdlog/logger.h>

#include "satx/models/network.hpp"
#include "satx/train/plan.hpp"

namespace satx::train::detail {

// A new network for `plan`: ImageNet weights loaded into the backbone (the head new), a
// finetuned model file's tensors (its head replaced when the classes differ), or random
// initialization; with `resuming`, only the architecture (state.pt holds the tensors). On the
// plan's device, channels-last when the plan says so.
std::shared_ptr<models::Network> build_network(const TrainPlan& plan, spdlog::logger& log, bool resuming);

// An empty network of the plan's architecture and classes on its device (for the weight average).
std::shared_ptr<models::Network> make_like(const TrainPlan& plan);

}  // namespace satx::train::detail
