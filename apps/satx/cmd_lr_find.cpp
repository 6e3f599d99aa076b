// satx lr-find: the learning-rate range test.
#include "satx/models/registry.hpp"
#include "train_cli.hpp"

namespace satx::cli {

void setup_lr_find(CLI::App& command, Run& run) {
  auto options = std::make_shared<train::TrainOptions>();
  auto common = std::make_shared<CommonOptions>();
  auto csv = std::make_shared<std::string>("lr_find.csv");
  auto png = std::make_shared<std::string>("lr_find.png");
  bind_train_options(command, *options, TrainCommand::LrFind);
  command.add_option("--csv", *csv, "Where to write the curve (lr,loss,smoothed_loss)")->group("Learning-rate range test");
  command.add_option("--plot", *png, "Where to write the PNG plot")->group("Learning-rate range test");
  add_common_options(command, *common);
  run = [options, common, csv, png] {
    models::find_manifest(options->data.model);
    return run_lr_find(*options, *common, *csv, *png);
  };
}

}  // namespace satx::cli
