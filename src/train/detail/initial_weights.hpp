#pragma once
// Where a new run's backbone weights come from: -weights=FILE, none, or auto (a known file
// found on disk), with the normalization those weights expect.

#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "satx/models/network.hpp"

namespace satx::train::detail {

struct InitialWeights {
  std::string path;         // empty: random initialization
  std::vector<float> mean;  // the normalization the weights were trained with
  std::vector<float> std;
  std::string note;         // how they were identified, for config.json
};

// Resolves `weights` ("none", "auto" or a path) for `network`, loads the backbone (the head
// keeps its fresh initialization when its shape differs) and logs what happened, warning
// clearly when training starts from random initialization.
InitialWeights load_initial_weights(models::Network& network, const std::string& weights, spdlog::logger& log);

}  // namespace satx::train::detail
