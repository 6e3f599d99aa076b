// satx finetune: continue training a satx model on new or extended data.
#include "train_cli.hpp"

namespace satx::cli {

void setup_finetune(CLI::App& command, Run& run) {
  auto options = std::make_shared<train::TrainOptions>();
  auto common = std::make_shared<CommonOptions>();
  // Continuing from a trained model: no head phase and a low rate, unless the head is new.
  options->head_epochs = 0;
  options->lr = 1e-4;
  options->warmup_epochs = 0.0;
  bind_train_options(command, *options, TrainCommand::Finetune);
  add_common_options(command, *common);
  run = [options, common, &command] {
    if (options->new_head && command.count("--head-epochs") == 0) options->head_epochs = 2;
    if (options->lr_find) return run_lr_find(*options, *common, (options->out.empty() ? "." : options->out) + "/lr_find.csv",
                                             (options->out.empty() ? "." : options->out) + "/lr_find.png");
    return run_training(*options, *common);
  };
}

}  // namespace satx::cli
