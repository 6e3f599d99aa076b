// satx train: parse options into TrainOptions, run the two-phase trainer. Also holds what
// finetune and lr-find share with it (train_cli.hpp).
#include <cstdio>
#include <iostream>

#include "progress.hpp"
#include "satx/models/registry.hpp"
#include "satx/train/trainer.hpp"
#include "train_cli.hpp"

namespace satx::cli {

void bind_train_options(CLI::App& command, train::TrainOptions& o, TrainCommand which) {
  const bool finetune = which == TrainCommand::Finetune;
  if (finetune) {
    command.add_option("--from", o.from, "satx model file (.safetensors) to continue training")->required()->group("Data");
  } else {
    command.add_option("--model,-m", o.model, "Backbone: xception, mobilenetv2 or resnet50 (aliases accepted)")->group("Data");
  }
  command.add_option("--train", o.train_dir, "Training folder: one sub-folder per class")->group("Data");
  command.add_option("--add-train", o.add_train,
                     "Another training folder merged into -train (repeatable; any subset of the classes, e.g. "
                     "hard negatives)")
      ->group("Data")
      ->allow_extra_args(false);
  command.add_option("--valid", o.valid_dir, "Validation folder with the same classes")->group("Data");
  if (which != TrainCommand::LrFind)
    command.add_option("--test", o.test_dir, "Optional test folder, scored with the best checkpoint at the end")->group("Data");
  if (!finetune)
    command.add_option("--weights", o.weights,
                       "ImageNet weights (.safetensors, .pth or Keras .h5), 'none' for random init, or 'auto' (a known file in "
                       "$SATX_WEIGHTS, ./weights or ~/.cache/satx/weights)")
        ->group("Data");
  if (which != TrainCommand::LrFind)
    command.add_option("--out,-o", o.out, "Run directory (default runs/<model>-<timestamp>); rerunning into it resumes")
        ->group("Data");
  command.add_option("--input-size", o.input_size, "Square input size; 0 = the model's default (tiles are resized on the device)")
      ->group("Data");
  if (!finetune)
    command.add_option("--in-channels", o.in_channels, "Input channels; != 3 adapts the first convolution (multispectral)")
        ->group("Data");
  command.add_option("--cache", o.cache, "Decoded-tile cache: auto (when it fits in RAM), ram, off")->group("Data");
  command.add_flag("--strict", o.strict, "Treat a corrupt tile as fatal (exit 3) instead of skipping it")->group("Data");

  if (finetune)
    command.add_flag("--new-head", o.new_head, "Allow a different class list: replace the head (trained first for -head-epochs)")
        ->group("Phases");
  command.add_option("--head-epochs", o.head_epochs, "Phase 1 epochs: backbone frozen, new head trained")->group("Phases");
  command.add_option("--head-lr", o.head_lr, "Phase 1 peak learning rate")->group("Phases");
  command.add_option("--head-cache", o.head_cache,
                     "Phase 1 on pooled features computed once (fast; no augmentation) (true/false)")
      ->group("Phases");
  command.add_option("--epochs", o.epochs, "Phase 2 epochs: whole network")->group("Phases");
  command.add_option("--lr", o.lr, "Phase 2 peak learning rate")->group("Phases");
  command.add_flag("--train-bn", o.train_bn, "Train BatchNorm in phase 2: batch statistics, running averages (off: inference mode)")
      ->group("Phases");
  command.add_option("--bn-calibration", o.bn_calibration,
                     "With -train-bn: re-express pretrained BatchNorm around the statistics of this many training tiles "
                     "first, keeping the network's function (0 = off)")
      ->group("Phases");
  command.add_option("--lr-decay-per-stage", o.lr_decay_per_stage, "Multiply the rate by this for each earlier stage (1 = off)")
      ->group("Phases");
  command.add_option("--ema", o.ema,
                     "Phase 2: validate, checkpoint and test an exponential moving average of the weights with this "
                     "decay per step, e.g. 0.999 (0 = off)")
      ->group("Phases");
  std::string frozen_defaults;
  for (const auto& manifest : models::manifests())
    frozen_defaults += (frozen_defaults.empty() ? "" : ", ") + manifest.arch + " " + std::to_string(manifest.frozen_stages);
  command.add_option("--freeze-stages", o.freeze_stages,
                     "Phase 2 keeps this many leading stages frozen (faster steps); -1 = the backbone's default (" +
                         frozen_defaults + "; 0 from random initialization)")
      ->group("Phases");

  command.add_option("--batch,-b", o.batch, "Batch size")->group("Optimization");
  command.add_option("--optimizer", o.optimizer, "sgd, adam or adamw")->group("Optimization");
  command.add_option("--momentum", o.momentum, "SGD momentum")->group("Optimization");
  command.add_option("--nesterov", o.nesterov, "SGD Nesterov momentum (true/false)")->group("Optimization");
  command.add_option("--weight-decay", o.weight_decay, "Weight decay (decoupled for adamw; never on biases or norms)")
      ->group("Optimization");
  command.add_option("--schedule", o.schedule, "cosine (with warm-up), onecycle, step, plateau or constant")->group("Optimization");
  command.add_option("--warmup-epochs", o.warmup_epochs, "Linear warm-up length for cosine, in epochs")->group("Optimization");
  command.add_option("--min-lr-ratio", o.min_lr_ratio, "cosine/onecycle: final rate as a fraction of the peak")->group("Optimization");
  command.add_option("--step-every", o.step_every, "step schedule: epochs between decays")->group("Optimization");
  command.add_option("--step-gamma", o.step_gamma, "step/plateau schedule: decay factor")->group("Optimization");
  command.add_option("--plateau-patience", o.plateau_patience, "plateau schedule: epochs without improvement before a decay")
      ->group("Optimization");
  command.add_option("--clip-grad", o.clip_grad, "Clip the gradient norm to this (0 = off)")->group("Optimization");
  command.add_option("--label-smoothing", o.label_smoothing, "Label smoothing for the cross-entropy")->group("Optimization");
  command.add_option("--class-weights", o.class_weights, "none, auto (inverse class frequency) or w1,w2,...")->group("Optimization");
  command.add_option("--loss", o.loss, "ce (cross-entropy) or focal; auto = ce")->group("Optimization");
  command.add_option("--focal-gamma", o.focal_gamma, "Focal loss: (1-p)^gamma down-weights tiles already right (0 = cross-entropy)")
      ->group("Optimization");
  command.add_option("--sampler", o.sampler,
                     "shuffle, or balanced (each batch holds every class in equal share); auto = balanced for "
                     "rare-positive data")
      ->group("Optimization");
  command.add_option("--rare-share", o.rare_share,
                     "Two-class data whose smaller class is under this share is rare-positive: auto picks balanced "
                     "batches, -monitor=val_ap and -choose-threshold=f1")
      ->group("Optimization");

  if (which != TrainCommand::LrFind) {
    command.add_option("--monitor", o.monitor,
                       "Metric for best.safetensors and early stopping: val_accuracy, val_loss, val_macro_f1, val_auc, "
                       "val_ap (average precision); auto = val_ap for rare-positive data, else val_accuracy")
        ->group("Checkpoints");
    command.add_option("--choose-threshold", o.choose_threshold,
                       "Two classes: choose the decision threshold on the validation split at the end and store it in "
                       "best.safetensors: none, f1, youden, precision>=P, recall>=R; auto = f1 for rare-positive data")
        ->group("Checkpoints");
    command.add_option("--collapse-guard", o.collapse_guard,
                       "Phase 2: when the monitored metric loses half its margin over chance (or one class takes every "
                       "tile), roll back to the best weights and lower the rate (true/false)")
        ->group("Checkpoints");
    command.add_option("--collapse-lr-factor", o.collapse_lr_factor, "The rate after a rollback, as a fraction of the rate before")
        ->group("Checkpoints");
    command.add_option("--patience", o.patience, "Stop a phase after this many epochs without improvement (0 = never)")
        ->group("Checkpoints");
    command.add_option("--min-delta", o.min_delta, "Smallest change that counts as an improvement")->group("Checkpoints");
    command.add_flag("--resume", o.resume, "Continue the interrupted run in --out (rerunning into --out does the same)")
        ->group("Checkpoints");
    command.add_flag("--deterministic", o.deterministic, "Bit-reproducible runs, resume included (slower on CUDA)")
        ->group("Checkpoints");
  }

  command.add_option("--augment", o.augment, "Augmentation on/off (true/false)")->group("Augmentation");
  command.add_option("--dihedral", o.dihedral, "Random flips and 90-degree rotations (true/false)")->group("Augmentation");
  command.add_option("--crop-scale", o.crop_scale, "Random resized crop: smallest kept area fraction (1 = off)")->group("Augmentation");
  command.add_option("--jitter", o.jitter, "Brightness/contrast/saturation jitter strength (0 = off)")->group("Augmentation");
  command.add_option("--mixup", o.mixup, "Mixup alpha (0 = off)")->group("Augmentation");
  command.add_option("--cutmix", o.cutmix, "CutMix alpha (0 = off)")->group("Augmentation");

  if (which != TrainCommand::LrFind)
    command.add_flag("--lr-find", o.lr_find, "Run the learning-rate range test instead of training (writes into --out)")
        ->group("Learning-rate range test");
  command.add_option("--lr-find-min", o.lr_find_min, "Range test: first rate")->group("Learning-rate range test");
  command.add_option("--lr-find-max", o.lr_find_max, "Range test: last rate")->group("Learning-rate range test");
  command.add_option("--lr-find-steps", o.lr_find_steps, "Range test: steps")->group("Learning-rate range test");

  command.add_option("--amp", o.amp, "CUDA mixed precision: auto (bf16 where supported, else fp16), bf16, fp16, off")->group("Runtime");
  command.add_option("--channels-last", o.channels_last, "Channels-last memory format (true/false)")->group("Runtime");
  command.add_option("--log-every", o.log_every, "Steps between progress lines when stderr is not a terminal")->group("Runtime");
}

namespace {

// Keras-style names for the epoch line.
const char* short_name(const std::string& key) {
  if (key == "train_loss") return "loss";
  if (key == "train_accuracy") return "acc";
  if (key == "val_accuracy") return "val_acc";
  if (key == "val_macro_f1") return "val_f1";
  return nullptr;
}

class ProgressRenderer {
 public:
  ProgressRenderer(int log_every, bool quiet) : log_every_(log_every), quiet_(quiet) {}

  void operator()(const train::ProgressEvent& event) {
    using Kind = train::ProgressEvent::Kind;
    if (quiet_) return;
    switch (event.kind) {
      case Kind::PhaseStart:
        std::fprintf(stderr, "%s\n", event.phase == "head" ? "Phase 1: new head on the frozen backbone"
                                                           : "Phase 2: the whole network");
        break;
      case Kind::EpochStart:
        std::fprintf(stderr, "Epoch %d/%d\n", event.epoch, event.epochs);
        bar_ = std::make_unique<Progress>("", event.steps, "step", log_every_);
        break;
      case Kind::Step:
        if (bar_) bar_->update(event.step, event.metrics);
        break;
      case Kind::EpochEnd: {
        Metrics metrics;
        for (const auto& [key, value] : event.metrics) {
          const char* name = short_name(key);
          metrics.emplace_back(name ? name : key, value);
        }
        if (bar_) bar_->finish(metrics);
        bar_.reset();
        break;
      }
      case Kind::Stage:
        if (event.label == "validating") break;  // part of the epoch line
        if (!stage_ || stage_label_ != event.label) {
          stage_ = std::make_unique<Progress>(event.label, event.steps, event.unit, log_every_);
          stage_label_ = event.label;
        }
        stage_->update(event.step, event.metrics);
        if (event.steps > 0 && event.step >= event.steps) {
          stage_->finish(event.metrics);
          stage_.reset();
        }
        break;
    }
  }

 private:
  int log_every_;
  bool quiet_;
  std::unique_ptr<Progress> bar_;
  std::unique_ptr<Progress> stage_;
  std::string stage_label_;
};

std::string metric_text(const nlohmann::json& line, const std::string& prefix) {
  std::string text;
  char part[96];
  for (const char* key : {"accuracy", "macro_f1", "auc", "ap", "positive_f1", "loss"}) {
    const std::string name = prefix + key;
    if (!line.contains(name) || !line[name].is_number()) continue;
    std::snprintf(part, sizeof part, "%s%s %.4f", text.empty() ? "" : ", ", key, line[name].get<double>());
    text += part;
  }
  return text;
}

}  // namespace

train::ProgressCallback make_progress_renderer(int log_every, bool quiet) {
  auto renderer = std::make_shared<ProgressRenderer>(log_every, quiet);
  return [renderer](const train::ProgressEvent& event) { (*renderer)(event); };
}

int run_training(train::TrainOptions options, const CommonOptions& common) {
  Context context = make_cli_context(common);
  options.on_progress = make_progress_renderer(options.log_every, common.quiet);
  const auto result = train::train(options, context);
  std::printf("run:  %s%s\n", result.run_dir.string().c_str(), result.resumed ? " (resumed)" : "");
  if (result.best.is_object())
    std::printf("best: %s (phase %s, epoch %d: %s)\n", result.best_model.string().c_str(),
                result.best.value("phase", "").c_str(), result.best.value("epoch", 0), metric_text(result.best, "val_").c_str());
  std::printf("last: %s\n", result.last_model.string().c_str());
  if (result.threshold.is_object())
    std::printf("threshold: %.4f (%s on the validation split: precision %.4f, recall %.4f, F1 %.4f)\n",
                result.threshold.value("threshold", 0.0), result.threshold.value("criterion", "").c_str(),
                result.threshold.value("precision", 0.0), result.threshold.value("recall", 0.0),
                result.threshold.value("f1", 0.0));
  if (result.test.is_object())
    std::printf("test: %s (%lld tiles)\n", metric_text(result.test, "test_").c_str(),
                static_cast<long long>(result.test.value("test_tiles", 0)));
  std::printf("time: %.1fs%s\n", result.seconds, result.stopped_early ? " (stopped early)" : "");
  return 0;
}

int run_lr_find(train::TrainOptions options, const CommonOptions& common, const std::string& csv, const std::string& png) {
  Context context = make_cli_context(common);
  options.on_progress = make_progress_renderer(options.log_every, common.quiet);
  const auto result = train::lr_find(options, context);
  train::write_lr_find_outputs(result, csv, png);
  std::printf("suggested learning rate: %.3g (steepest descent; the loss is lowest at %.3g%s)\n", result.suggested,
              result.min_loss_lr, result.diverged ? ", diverged after" : "");
  if (!csv.empty()) std::printf("curve: %s\n", csv.c_str());
  if (!png.empty()) std::printf("plot:  %s\n", png.c_str());
  return 0;
}

void setup_train(CLI::App& command, Run& run) {
  auto options = std::make_shared<train::TrainOptions>();
  auto common = std::make_shared<CommonOptions>();
  bind_train_options(command, *options, TrainCommand::Train);
  add_common_options(command, *common);
  run = [options, common] {
    models::find_manifest(options->model);  // an unknown model is a usage error before any work
    if (options->lr_find) {
      const std::string dir = options->out.empty() ? "." : options->out;
      return run_lr_find(*options, *common, dir + "/lr_find.csv", dir + "/lr_find.png");
    }
    return run_training(*options, *common);
  };
}

}  // namespace satx::cli
