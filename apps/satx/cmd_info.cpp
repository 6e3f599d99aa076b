// satx info
#include "cli.hpp"

namespace satx::cli {

void setup_info(CLI::App&, Run& run) {
  run = [] { return not_built("info"); };
}

}  // namespace satx::cli
