// satx predict
#include "cli.hpp"

namespace satx::cli {

void setup_predict(CLI::App&, Run& run) {
  run = [] { return not_built("predict"); };
}

}  // namespace satx::cli
