// satx lr-find
#include "cli.hpp"

namespace satx::cli {

void setup_lr_find(CLI::App&, Run& run) {
  run = [] { return not_built("lr-find"); };
}

}  // namespace satx::cli
