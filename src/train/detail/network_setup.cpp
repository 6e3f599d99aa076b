#include "train/detail/network_setup.hpp"

#include "satx/io/weights.hpp"
#include "satx/models/model_file.hpp"
#include "satx/models/weights.hpp"

namespace satx::train::detail {

std::shared_ptr<models::Network> make_like(const TrainPlan& plan) {
  auto network = models::create_network(plan.arch, {static_cast<int64_t>(plan.classes.size()), plan.options.data.in_channels});
  network->to(plan.device);
  if (plan.options.runtime.channels_last) models::to_channels_last(*network);
  return network;
}

std::shared_ptr<models::Network> build_network(const TrainPlan& plan, spdlog::logger& log, bool resuming) {
  if (resuming) return make_like(plan);
  std::shared_ptr<models::Network> network;
  const auto num_classes = static_cast<int64_t>(plan.classes.size());
  if (!plan.weights.from.empty()) {
    auto loaded = models::load_model_file(plan.weights.from, torch::kCPU);
    network = loaded.network;
    if (loaded.metadata.classes != plan.classes) {
      log.info("replacing the head of {} ({} classes) by a new {}-class head", plan.weights.from,
               loaded.metadata.classes.size(), num_classes);
      network->replace_head(num_classes);
    }
  } else {
    network = models::create_network(plan.arch, {num_classes, plan.options.data.in_channels});
    if (!plan.weights.path.empty()) {
      models::LoadWeightsOptions load;
      load.skip_head = true;
      load.origin = plan.weights.path;
      const auto report =
          models::load_weights_into(*network, io::read_weights(plan.weights.path, plan.arch), load);
      log.info("loaded {} tensors from {}{} (new {}-class head)", report.loaded, plan.weights.path,
               report.adapted_input ? ", first convolution adapted to " + std::to_string(network->in_channels()) + " channels"
                                    : "",
               num_classes);
    }
  }
  network->to(plan.device);
  if (plan.options.runtime.channels_last) models::to_channels_last(*network);
  return network;
}

}  // namespace satx::train::detail
