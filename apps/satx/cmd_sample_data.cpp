// satx sample-data
#include "cli.hpp"

namespace satx::cli {

void setup_sample_data(CLI::App&, Run& run) {
  run = [] { return not_built("sample-data"); };
}

}  // namespace satx::cli
