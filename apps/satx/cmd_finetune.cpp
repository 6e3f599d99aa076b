// satx finetune: continue training a satx model on new or extended data.
#include "train_cli.hpp"

namespace satx::cli {

void setup_finetune(CLI::App& command, Run& run) {
  // Continuing from a trained model: no head phase (unless the head is new) and a low rate.
  auto options = std::make_shared<train::TrainOptions>(train::finetune_defaults());
  auto common = std::make_shared<CommonOptions>();
  bind_train_options(command, *options, TrainCommand::Finetune);
  add_common_options(command, *common);
  run = [options, common] {
    if (options->lr_find.enabled) {
      const std::string dir = options->data.out.empty() ? "." : options->data.out;
      return run_lr_find(*options, *common, dir + "/lr_find.csv", dir + "/lr_find.png");
    }
    return run_training(*options, *common);
  };
}

}  // namespace satx::cli
