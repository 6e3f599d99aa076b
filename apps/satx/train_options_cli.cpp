// The training options of `satx train`, `satx finetune` and `satx lr-find`, one binding per
// option group, straight into the library's TrainOptions (whose values --help shows as defaults).
#include "option_groups.hpp"
#include "satx/models/registry.hpp"
#include "train_cli.hpp"

namespace satx::cli {

namespace {

// An enum option whose "auto" leaves the std::optional unset (the plan decides for the data).
template <typename Enum>
CLI::Option* add_auto_enum_option(CLI::App& command, const std::string& name, std::optional<Enum>& value,
                                  const std::map<std::string, Enum>& names, const std::string& help) {
  std::vector<std::string> choices = {"auto"};
  for (const auto& [spelling, ignored] : names) choices.push_back(spelling);
  auto* option = command.add_option_function<std::string>(
      name,
      [&value, names](const std::string& text) {
        if (text == "auto") return value.reset();
        value = names.at(text);
      },
      help);
  option->check(CLI::IsMember(choices));
  option->default_str("auto");
  return option;
}

void bind_data(CLI::App& command, train::DataOptions& o, TrainCommand which) {
  const char* group = "Data";
  const bool finetune = which == TrainCommand::Finetune;
  if (finetune) {
    command.add_option("--from", o.from, "satx model file (.safetensors) to continue training")->required()->group(group);
    command.add_flag("--new-head", o.new_head, "Allow a different class list: replace the head (trained first for -head-epochs)")
        ->group(group);
  } else {
    command.add_option("--model,-m", o.model, "Backbone: xception, mobilenetv2 or resnet50 (aliases accepted)")->group(group);
    command.add_option("--weights", o.weights,
                       "ImageNet weights (.safetensors, .pth or Keras .h5), 'none' for random init, or 'auto' (a known file in "
                       "$SATX_WEIGHTS, ./weights or ~/.cache/satx/weights)")
        ->group(group);
    command.add_option("--in-channels", o.in_channels, "Input channels; != 3 adapts the first convolution (multispectral)")
        ->group(group);
  }
  command.add_option("--train", o.train_dir, "Training folder: one sub-folder per class")->group(group);
  command.add_option("--add-train", o.add_train,
                     "Another training folder merged into -train (repeatable; any subset of the classes, e.g. hard negatives)")
      ->group(group)
      ->allow_extra_args(false);
  command.add_option("--valid", o.valid_dir, "Validation folder with the same classes")->group(group);
  if (which != TrainCommand::LrFind) {
    command.add_option("--test", o.test_dir, "Optional test folder, scored with the best checkpoint at the end")->group(group);
    command.add_option("--out,-o", o.out, "Run directory (default runs/<model>-<timestamp>); rerunning into it resumes")
        ->group(group);
    command.add_flag("--force", o.force, "Write into an --out folder that already holds files that are not a satx run's")
        ->group(group);
  }
  command.add_option("--input-size", o.input_size, "Square input size; 0 = the model's default (tiles are resized on the device)")
      ->group(group);
  add_enum_option(command, "--cache", o.cache,
                  {{"auto", data::CacheMode::Auto}, {"ram", data::CacheMode::Ram}, {"off", data::CacheMode::Off}},
                  "Decoded-tile cache: auto keeps tiles in RAM when they fit")
      ->group(group);
  command.add_flag("--strict", o.strict, "Treat a corrupt tile as fatal (exit 3) instead of skipping it")->group(group);
}

void bind_phases(CLI::App& command, train::PhaseOptions& o) {
  const char* group = "Phases";
  command.add_option("--head-epochs", o.head_epochs, "Phase 1 epochs: backbone frozen, new head trained (-1: finetune's auto)")
      ->group(group);
  command.add_option("--head-lr", o.head_lr, "Phase 1 peak learning rate")->group(group);
  command.add_option("--head-cache", o.head_cache, "Phase 1 on pooled features computed once (fast; no augmentation) (true/false)")
      ->group(group);
  command.add_option("--epochs", o.epochs, "Phase 2 epochs: whole network")->group(group);
  command
      .add_option_function<std::string>(
          "--lr",
          [&o](const std::string& text) {
            if (text == "auto") return o.lr.reset();
            double rate = 0;
            if (!CLI::detail::lexical_cast(text, rate)) throw CLI::ValidationError("--lr", "'" + text + "' is not a number or auto");
            o.lr = rate;
          },
          "Phase 2 peak learning rate; auto = 5e-4 for rare-positive data, else 1e-3")
      ->type_name("FLOAT")
      ->default_str(o.lr ? CLI::detail::to_string(*o.lr) : "auto")
      ->group(group);
  command.add_flag("--train-bn", o.train_bn, "Train BatchNorm in phase 2: batch statistics, running averages (off: inference mode)")
      ->group(group);
  command.add_option("--bn-calibration", o.bn_calibration,
                     "With -train-bn: re-express pretrained BatchNorm around the statistics of this many training tiles "
                     "first, keeping the network's function (0 = off)")
      ->group(group);
  command.add_option("--lr-decay-per-stage", o.lr_decay_per_stage, "Multiply the rate by this for each earlier stage (1 = off)")
      ->group(group);
  command.add_option("--ema", o.ema,
                     "Phase 2: validate, checkpoint and test an exponential moving average of the weights with this decay "
                     "per step, e.g. 0.999 (0 = off)")
      ->group(group);
  std::string frozen;
  for (const auto& manifest : models::manifests())
    frozen += (frozen.empty() ? "" : ", ") + manifest.arch + " " + std::to_string(manifest.frozen_stages);
  command.add_option("--freeze-stages", o.freeze_stages,
                     "Phase 2 keeps this many leading stages frozen (faster steps); -1 = the backbone's default (" + frozen +
                         "; 0 from random initialization)")
      ->group(group);
}

void bind_optimization(CLI::App& command, train::TrainOptions& o) {
  const char* group = "Optimization";
  command.add_option("--batch,-b", o.sampling.batch, "Batch size")->group(group);
  add_auto_enum_option(command, "--sampler", o.sampling.sampler,
                       {{"shuffle", data::Sampler::Shuffle}, {"balanced", data::Sampler::Balanced}},
                       "shuffle, or balanced (each batch holds every class in equal share); auto = balanced for "
                       "rare-positive data")
      ->group(group);
  command.add_option("--rare-share", o.sampling.rare_share,
                     "Two-class data whose smaller class is under this share is rare-positive: auto picks balanced batches, "
                     "focal loss, -monitor=val_ap and -choose-threshold=f1")
      ->group(group);
  add_enum_option(command, "--optimizer", o.optimizer.kind,
                  {{"sgd", train::OptimizerKind::Sgd}, {"adam", train::OptimizerKind::Adam}, {"adamw", train::OptimizerKind::AdamW}},
                  "Optimizer")
      ->group(group);
  command.add_option("--momentum", o.optimizer.momentum, "SGD momentum")->group(group);
  command.add_option("--nesterov", o.optimizer.nesterov, "SGD Nesterov momentum (true/false)")->group(group);
  command.add_option("--weight-decay", o.optimizer.weight_decay, "Weight decay (decoupled for adamw; never on biases or norms)")
      ->group(group);
  command.add_option("--clip-grad", o.optimizer.clip_grad, "Clip the gradient norm to this (0 = off)")->group(group);
  add_enum_option(command, "--schedule", o.schedule.kind,
                  {{"cosine", train::ScheduleKind::Cosine},
                   {"onecycle", train::ScheduleKind::OneCycle},
                   {"step", train::ScheduleKind::Step},
                   {"plateau", train::ScheduleKind::Plateau},
                   {"constant", train::ScheduleKind::Constant}},
                  "Learning-rate schedule (cosine has a linear warm-up)")
      ->group(group);
  command.add_option("--warmup-epochs", o.schedule.warmup_epochs, "Linear warm-up length for cosine, in epochs")->group(group);
  command.add_option("--min-lr-ratio", o.schedule.min_ratio, "cosine/onecycle: final rate as a fraction of the peak")->group(group);
  command.add_option("--step-every", o.schedule.step_every, "step schedule: epochs between decays")->group(group);
  command.add_option("--step-gamma", o.schedule.gamma, "step/plateau schedule: decay factor")->group(group);
  command.add_option("--plateau-patience", o.schedule.plateau_patience, "plateau schedule: epochs without improvement before a decay")
      ->group(group);
  command.add_option("--label-smoothing", o.loss.label_smoothing, "Label smoothing for the loss")->group(group);
  command.add_option("--class-weights", o.loss.class_weights, "none, auto (inverse class frequency) or w1,w2,...")->group(group);
  add_auto_enum_option(command, "--loss", o.loss.kind,
                       {{"ce", train::LossKind::CrossEntropy}, {"focal", train::LossKind::Focal}},
                       "ce (cross-entropy) or focal; auto = focal for rare-positive data, else ce")
      ->group(group);
  command.add_option("--focal-gamma", o.loss.focal_gamma, "Focal loss: (1-p)^gamma down-weights tiles already right (0 = ce)")
      ->group(group);
}

void bind_checkpoints(CLI::App& command, train::CheckpointOptions& o) {
  const char* group = "Checkpoints";
  add_auto_enum_option(command, "--monitor", o.monitor,
                       {{"val_accuracy", train::Monitor::Accuracy},
                        {"val_loss", train::Monitor::Loss},
                        {"val_macro_f1", train::Monitor::MacroF1},
                        {"val_auc", train::Monitor::Auc},
                        {"val_ap", train::Monitor::Ap}},
                       "Metric for best.safetensors and early stopping; auto = val_ap (average precision) for "
                       "rare-positive data, else val_accuracy")
      ->group(group);
  command.add_option("--patience", o.patience, "Stop a phase after this many epochs without improvement (0 = never)")->group(group);
  command.add_option("--min-delta", o.min_delta, "Smallest change that counts as an improvement")->group(group);
  command.add_option("--choose-threshold", o.choose_threshold,
                     "Two classes: choose the decision threshold on the validation split at the end and store it in "
                     "best.safetensors: none, f1, youden, precision>=P, recall>=R; auto = f1 for rare-positive data")
      ->group(group);
  command.add_option("--collapse-guard", o.collapse_guard,
                     "Phase 2: when the monitored metric loses half its margin over chance (or one class takes every tile), "
                     "roll back to the kept weights and lower the rate (true/false)")
      ->group(group);
  command.add_option("--collapse-lr-factor", o.collapse_lr_factor, "The rate after a rollback, as a fraction of the rate before")
      ->group(group);
  command.add_flag("--resume", o.resume, "Continue the interrupted run in --out (rerunning into --out does the same)")->group(group);
  command.add_flag("--deterministic", o.deterministic, "Bit-reproducible runs, resume included (slower on CUDA)")->group(group);
}

void bind_augmentation(CLI::App& command, train::AugmentOptions& o) {
  const char* group = "Augmentation";
  command.add_option("--augment", o.enabled, "Augmentation on/off (true/false)")->group(group);
  command.add_option("--dihedral", o.dihedral, "Random flips and 90-degree rotations (true/false)")->group(group);
  command.add_option("--crop-scale", o.crop_scale, "Random resized crop: smallest kept area fraction (1 = off)")->group(group);
  command.add_option("--jitter", o.jitter, "Brightness/contrast/saturation jitter strength (0 = off)")->group(group);
  command.add_option("--mixup", o.mixup, "Mixup alpha (0 = off)")->group(group);
  command.add_option("--cutmix", o.cutmix, "CutMix alpha (0 = off)")->group(group);
}

void bind_runtime(CLI::App& command, train::RuntimeOptions& o) {
  const char* group = "Runtime";
  add_enum_option(command, "--amp", o.amp,
                  {{"auto", infer::Precision::Auto},
                   {"off", infer::Precision::Float32},
                   {"bf16", infer::Precision::BFloat16},
                   {"fp16", infer::Precision::Float16}},
                  "CUDA mixed precision: auto = bf16 where supported, else fp16; the CPU computes in float32")
      ->group(group);
  command.add_option("--channels-last", o.channels_last, "Channels-last memory format (true/false)")->group(group);
  command.add_option("--log-every", o.log_every, "Steps between progress lines (and loss reads) when stderr is not a terminal")
      ->group(group);
}

void bind_lr_find(CLI::App& command, train::LrFindOptions& o, TrainCommand which) {
  const char* group = "Learning-rate range test";
  if (which != TrainCommand::LrFind)
    command.add_flag("--lr-find", o.enabled, "Run the learning-rate range test instead of training (writes into --out)")
        ->group(group);
  command.add_option("--lr-find-min", o.min_lr, "Range test: first rate")->group(group);
  command.add_option("--lr-find-max", o.max_lr, "Range test: last rate")->group(group);
  command.add_option("--lr-find-steps", o.steps, "Range test: steps")->group(group);
}

}  // namespace

void bind_train_options(CLI::App& command, train::TrainOptions& o, TrainCommand which) {
  bind_data(command, o.data, which);
  bind_phases(command, o.phases);
  bind_optimization(command, o);
  if (which != TrainCommand::LrFind) bind_checkpoints(command, o.checkpoints);
  bind_augmentation(command, o.augment);
  bind_lr_find(command, o.lr_find, which);
  bind_runtime(command, o.runtime);
}

}  // namespace satx::cli
