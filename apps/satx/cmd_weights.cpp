// satx weights
#include "cli.hpp"

namespace satx::cli {

void setup_weights(CLI::App&, Run& run) {
  run = [] { return not_built("weights"); };
}

}  // namespace satx::cli
