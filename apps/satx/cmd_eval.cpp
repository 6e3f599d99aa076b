// satx eval
#include "cli.hpp"

namespace satx::cli {

void setup_eval(CLI::App&, Run& run) {
  run = [] { return not_built("eval"); };
}

}  // namespace satx::cli
