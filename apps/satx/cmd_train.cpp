// satx train: parse options into TrainOptions, run the two-phase trainer.
#include "cli.hpp"
#include "satx/models/registry.hpp"
#include "satx/train/options.hpp"

namespace satx::cli {

void setup_train(CLI::App& command, Run& run) {
  auto options = std::make_shared<train::TrainOptions>();
  auto common = std::make_shared<CommonOptions>();
  auto& o = *options;
  command.add_option("--model,-m", o.model, "Backbone: xception, mobilenetv2 or resnet50 (aliases accepted)")->group("Data");
  command.add_option("--train", o.train_dir, "Training folder: one sub-folder per class")->required()->group("Data");
  command.add_option("--valid", o.valid_dir, "Validation folder with the same classes")->required()->group("Data");
  command.add_option("--test", o.test_dir, "Optional test folder, scored with the best checkpoint at the end")->group("Data");
  command.add_option("--weights", o.weights, "ImageNet weights file (.pth, .safetensors, .h5), or 'none' for random init")->group("Data");
  command.add_option("--out,-o", o.out, "Run directory (default runs/<model>-<timestamp>)")->group("Data");
  command.add_option("--input-size", o.input_size, "Square input size; 0 = the model's default (tiles are resized on the device)")->group("Data");
  command.add_option("--in-channels", o.in_channels, "Input channels; != 3 adapts the first convolution (multispectral)")->group("Data");
  command.add_option("--cache", o.cache, "Decoded-tile cache: auto (when it fits in RAM), ram, off")->group("Data");
  command.add_flag("--strict", o.strict, "Treat a corrupt tile as fatal (exit 3) instead of skipping it")->group("Data");

  command.add_option("--head-epochs", o.head_epochs, "Phase 1 epochs: backbone frozen, new head trained")->group("Phases");
  command.add_option("--head-lr", o.head_lr, "Phase 1 learning rate")->group("Phases");
  command.add_option("--epochs", o.epochs, "Phase 2 epochs: whole network")->group("Phases");
  command.add_option("--lr", o.lr, "Phase 2 peak learning rate")->group("Phases");
  command.add_flag("--train-bn", o.train_bn, "Update BatchNorm statistics in phase 2 (off: inference mode)")->group("Phases");
  command.add_option("--lr-decay-per-stage", o.lr_decay_per_stage, "Multiply the rate by this for each earlier stage (1 = off)")->group("Phases");

  command.add_option("--batch,-b", o.batch, "Batch size")->group("Optimization");
  command.add_option("--optimizer", o.optimizer, "sgd, adam or adamw")->group("Optimization");
  command.add_option("--momentum", o.momentum, "SGD momentum")->group("Optimization");
  command.add_option("--nesterov", o.nesterov, "SGD Nesterov momentum (true/false)")->group("Optimization");
  command.add_option("--weight-decay", o.weight_decay, "Weight decay")->group("Optimization");
  command.add_option("--schedule", o.schedule, "cosine (with warm-up), onecycle, step, plateau or constant")->group("Optimization");
  command.add_option("--warmup-epochs", o.warmup_epochs, "Linear warm-up length for cosine, in epochs")->group("Optimization");
  command.add_option("--step-every", o.step_every, "step schedule: epochs between decays")->group("Optimization");
  command.add_option("--step-gamma", o.step_gamma, "step/plateau schedule: decay factor")->group("Optimization");
  command.add_option("--clip-grad", o.clip_grad, "Clip the gradient norm to this (0 = off)")->group("Optimization");
  command.add_option("--label-smoothing", o.label_smoothing, "Label smoothing for the cross-entropy")->group("Optimization");
  command.add_option("--class-weights", o.class_weights, "none, auto (inverse class frequency) or w1,w2,...")->group("Optimization");

  command.add_option("--monitor", o.monitor, "Metric for best.safetensors and early stopping: val_accuracy, val_loss, val_macro_f1, val_auc")->group("Checkpoints");
  command.add_option("--patience", o.patience, "Stop after this many epochs without improvement (0 = never)")->group("Checkpoints");
  command.add_option("--min-delta", o.min_delta, "Smallest change that counts as an improvement")->group("Checkpoints");
  command.add_flag("--resume", o.resume, "Continue an interrupted run in --out from its last completed epoch")->group("Checkpoints");
  command.add_flag("--deterministic", o.deterministic, "Bit-reproducible runs (slower on CUDA)")->group("Checkpoints");

  command.add_option("--augment", o.augment, "Augmentation on/off (true/false)")->group("Augmentation");
  command.add_option("--dihedral", o.dihedral, "Random flips and 90-degree rotations (true/false)")->group("Augmentation");
  command.add_option("--crop-scale", o.crop_scale, "Random resized crop: smallest kept area fraction (1 = off)")->group("Augmentation");
  command.add_option("--jitter", o.jitter, "Brightness/contrast/saturation jitter strength (0 = off)")->group("Augmentation");
  command.add_option("--mixup", o.mixup, "Mixup alpha (0 = off)")->group("Augmentation");
  command.add_option("--cutmix", o.cutmix, "CutMix alpha (0 = off)")->group("Augmentation");

  command.add_option("--amp", o.amp, "CUDA mixed precision: auto, bf16, fp16, off")->group("Runtime");
  command.add_option("--channels-last", o.channels_last, "CUDA channels-last memory format (true/false)")->group("Runtime");
  command.add_option("--log-every", o.log_every, "Steps between progress lines when stderr is not a terminal")->group("Runtime");
  add_common_options(command, *common);

  run = [options, common] {
    models::find_manifest(options->model);  // an unknown model is a usage error before any work
    return not_built("train");
  };
}

}  // namespace satx::cli
