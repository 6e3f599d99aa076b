// satx predict-merge
#include "cli.hpp"

namespace satx::cli {

void setup_predict_merge(CLI::App&, Run& run) {
  run = [] { return not_built("predict-merge"); };
}

}  // namespace satx::cli
