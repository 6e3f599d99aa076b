#pragma once
/// Options of the two-phase transfer-learning trainer (`satx train`, `satx finetune`).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/train/progress.hpp"

namespace satx::train {

/// Everything `satx train` can be told. Defaults are the recipe a user need not tune.
struct TrainOptions {
  // Data
  std::string model = "mobilenetv2";  ///< arch name or alias (see `satx weights list`)
  std::string train_dir;              ///< folder per class
  std::vector<std::string> add_train; ///< more training folders (any subset of the classes), merged into train_dir
  std::string valid_dir;              ///< folder per class, same classes
  std::string test_dir;               ///< optional: evaluated with the best checkpoint at the end
  std::string weights = "auto";       ///< weights file, "none" (random init) or "auto" (none unless found)
  std::string out;                    ///< run directory (default runs/<model>-<timestamp>)
  int input_size = 0;                 ///< 0 = the manifest's default
  int in_channels = 3;                ///< != 3 adapts the first convolution
  std::string cache = "auto";         ///< decoded-tile cache: auto, ram, off
  bool strict = false;                ///< a corrupt tile is fatal (exit 3) instead of skipped

  // Phase 1: frozen backbone, new head
  int head_epochs = 3;                ///< cheap: phase 1 runs on cached features by default
  double head_lr = 3e-3;
  bool head_cache = true;             ///< phase 1 trains on pooled features computed once (no augmentation)
  // Phase 2: the whole network
  int epochs = 5;
  double lr = 1e-3;
  bool train_bn = false;              ///< train BatchNorm statistics in phase 2
  int bn_calibration = 256;           ///< with train_bn: tiles whose statistics pretrained BatchNorm is re-expressed around (0 = off)
  double lr_decay_per_stage = 1.0;    ///< each earlier stage's rate times this (1 = same rate)
  int freeze_stages = -1;             ///< phase 2 keeps this many leading stages frozen; -1 = the backbone's default
  double ema = 0.0;                   ///< phase 2 validates and saves an average of the weights with this decay per step (0 = off)

  // satx finetune: start from a satx model file instead of ImageNet weights
  std::string from;                   ///< model file to continue training (finetune)
  bool new_head = false;              ///< finetune: a different class list gets a new head

  // Optimization
  int batch = 64;
  std::string optimizer = "adamw";    ///< sgd, adam, adamw
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 1e-4;
  std::string schedule = "cosine";    ///< cosine, onecycle, step, plateau, constant
  double warmup_epochs = 0.3;
  double min_lr_ratio = 0.0;          ///< cosine/onecycle end at peak * this
  double step_gamma = 0.1;
  int step_every = 3;
  int plateau_patience = 1;           ///< plateau schedule: epochs without improvement before decaying
  double clip_grad = 0.0;             ///< max gradient norm; 0 = off
  double label_smoothing = 0.1;
  std::string class_weights = "none"; ///< none, auto, or comma-separated per-class weights
  std::string loss = "auto";          ///< ce (cross-entropy), focal; auto = ce
  double focal_gamma = 2.0;           ///< focal loss: (1 - p)^gamma down-weights easy tiles (0 = cross-entropy)
  /// shuffle, balanced (equal class shares per batch); auto = balanced for rare-positive data
  /// (two classes, the smaller under rare_share of the training tiles), else shuffle
  std::string sampler = "auto";
  double rare_share = 0.2;            ///< two-class data whose smaller class is under this share is rare-positive

  // Early stopping and checkpoints
  /// val_accuracy, val_loss, val_macro_f1, val_auc, val_ap; auto = val_ap for rare-positive
  /// data, else val_accuracy
  std::string monitor = "auto";
  /// Decision threshold chosen on the validation split at the end and stored in best.safetensors
  /// (two classes): none, f1, youden, precision>=P, recall>=R; auto = f1 for rare-positive data, else none
  std::string choose_threshold = "auto";
  /// Phase 2 rolls back to the best weights and lowers its rate when the monitored metric loses
  /// more than half of its margin over chance, or every validation tile gets one class
  bool collapse_guard = true;
  double collapse_lr_factor = 0.1;    ///< the rate after a rollback, as a fraction of the rate before
  int patience = 0;                   ///< epochs without improvement before stopping; 0 = off
  double min_delta = 0.0;
  bool resume = false;
  bool deterministic = false;

  // Augmentation (batched tensor ops on the training device)
  bool augment = true;
  bool dihedral = true;               ///< the 8 flips/rotations
  double crop_scale = 0.8;            ///< random resized crop keeps at least this area fraction (1 = off)
  double jitter = 0.1;                ///< brightness/contrast/saturation strength (0 = off)
  double mixup = 0.0;                 ///< mixup alpha (0 = off)
  double cutmix = 0.0;                ///< cutmix alpha (0 = off)

  // Runtime on CUDA
  std::string amp = "auto";           ///< bf16, fp16, off; auto = bf16 where supported
  bool channels_last = true;

  // Learning-rate range test (`satx lr-find`, `train -lr-find`)
  bool lr_find = false;               ///< run the range test instead of training
  double lr_find_min = 1e-7;
  double lr_find_max = 1.0;
  int lr_find_steps = 100;

  // Reporting
  int log_every = 50;                 ///< steps between plain progress lines when not on a terminal
  /// Receives progress events (the CLI draws bars from them); may be empty.
  ProgressCallback on_progress;
};

/// Every option as JSON (config.json); the progress callback is left out.
nlohmann::json to_json(const TrainOptions& options);

/// Reads options written by to_json; keys it lacks keep their defaults. BadData naming `origin`
/// for a value of the wrong type.
TrainOptions train_options_from_json(const nlohmann::json& json, const std::string& origin);

/// Checks values that need no data or model (ranges, names); Usage error naming the option.
void validate(const TrainOptions& options);

}  // namespace satx::train
