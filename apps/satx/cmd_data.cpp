// satx data
#include "cli.hpp"

namespace satx::cli {

void setup_data(CLI::App&, Run& run) {
  run = [] { return not_built("data"); };
}

}  // namespace satx::cli
