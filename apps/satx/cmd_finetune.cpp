// satx finetune
#include "cli.hpp"

namespace satx::cli {

void setup_finetune(CLI::App&, Run& run) {
  run = [] { return not_built("finetune"); };
}

}  // namespace satx::cli
