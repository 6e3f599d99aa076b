#pragma once
/// Options of the two-phase transfer-learning trainer (`satx train`, `satx finetune`,
/// `satx lr-find`), composed of the component Options structs. Defaults are the recipe a user
/// need not tune; an unset std::optional means "auto" (resolved for the data by the plan).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/data/loader.hpp"
#include "satx/data/sampler.hpp"
#include "satx/infer/precision.hpp"
#include "satx/train/augment.hpp"
#include "satx/train/early_stopping.hpp"
#include "satx/train/optimizer.hpp"
#include "satx/train/progress.hpp"
#include "satx/train/schedule.hpp"

namespace satx::train {

/// Where the data, the starting weights and the run directory are.
struct DataOptions {
  std::string model = "mobilenetv2";  ///< arch name or alias (see `satx weights list`)
  std::string train_dir;              ///< folder per class
  std::vector<std::string> add_train; ///< more training folders (any subset of the classes), merged into train_dir
  std::string valid_dir;              ///< folder per class, same classes
  std::string test_dir;               ///< optional: evaluated with the best checkpoint at the end
  std::string weights = "auto";       ///< weights file, "none" (random init) or "auto" (a known file found on disk)
  std::string from;                   ///< finetune: the satx model file to continue training
  bool new_head = false;              ///< finetune: a different class list gets a new head
  std::string out;                    ///< run directory (default runs/<model>-<timestamp>)
  bool force = false;                 ///< write into an `out` folder that holds other files (not recorded in config.json)
  int input_size = 0;                 ///< 0 = the manifest's default (finetune: the model's)
  int in_channels = 3;                ///< != 3 adapts the first convolution
  data::CacheMode cache = data::CacheMode::Auto;  ///< decoded-tile cache
  bool strict = false;                ///< a corrupt tile is fatal (exit 3) instead of skipped
};

/// The two phases.
struct PhaseOptions {
  /// Phase 1 (frozen backbone, new head) epochs; -1 = auto (finetune: 2 with a new head, else 0).
  int head_epochs = 3;
  double head_lr = 3e-3;
  bool head_cache = true;             ///< phase 1 trains on pooled features computed once (no augmentation)
  int epochs = 5;                     ///< phase 2 (the whole network) epochs
  /// Phase 2 peak rate; unset = auto: 5e-4 for rare-positive data (whole-network Adam at 1e-3
  /// wrecked their pretrained features), else 1e-3.
  std::optional<double> lr;
  bool train_bn = false;              ///< train BatchNorm statistics in phase 2
  int bn_calibration = 256;           ///< with train_bn: tiles pretrained BatchNorm is re-expressed around (0 = off)
  double lr_decay_per_stage = 1.0;    ///< each earlier stage's rate times this (1 = same rate)
  int freeze_stages = -1;             ///< phase 2 keeps this many leading stages frozen; -1 = the backbone's default
  double ema = 0.0;                   ///< phase 2 validates and saves an average of the weights with this decay per step (0 = off)
};

/// The training loss.
enum class LossKind { CrossEntropy, Focal };

struct LossOptions {
  std::optional<LossKind> kind;       ///< unset = auto: focal for rare-positive data, else cross-entropy
  double focal_gamma = 2.0;           ///< focal loss: (1 - p)^gamma down-weights easy tiles (0 = cross-entropy)
  double label_smoothing = 0.1;
  std::string class_weights = "none"; ///< none, auto, or comma-separated per-class weights
};

/// How batches are drawn.
struct SamplingOptions {
  int batch = 64;
  /// unset = auto: balanced for rare-positive data (two classes, the smaller under rare_share of
  /// the training tiles), else shuffle.
  std::optional<data::Sampler> sampler;
  double rare_share = 0.2;
};

/// Validation, checkpoints and the collapse guard.
struct CheckpointOptions {
  std::optional<Monitor> monitor;     ///< unset = auto: val_ap for rare-positive data, else val_accuracy
  int patience = 0;                   ///< epochs without improvement before stopping; 0 = off
  double min_delta = 0.0;
  /// Decision threshold chosen on the validation split at the end and stored in best.safetensors
  /// (two classes): none, f1, youden, precision>=P, recall>=R; auto = f1 for rare-positive data, else none
  std::string choose_threshold = "auto";
  /// Phase 2 rolls back to the kept weights and lowers its rate when the monitored metric loses
  /// more than half of its margin over chance, or every validation tile gets one class
  bool collapse_guard = true;
  double collapse_lr_factor = 0.1;    ///< the rate after a rollback, as a fraction of the rate before
  bool resume = false;                ///< a missing state.pt is an error (rerunning into -out resumes anyway)
  bool deterministic = false;         ///< bit-reproducible runs, resume included
};

/// How the forward and backward passes run.
struct RuntimeOptions {
  infer::Precision amp = infer::Precision::Auto;  ///< CUDA autocast; the CPU computes in float32
  bool channels_last = true;
  int log_every = 50;                 ///< steps between plain progress lines (and loss reads) when not on a terminal
};

/// The learning-rate range test (`satx lr-find`, `train -lr-find`).
struct LrFindOptions {
  bool enabled = false;               ///< run the range test instead of training
  double min_lr = 1e-7;
  double max_lr = 1.0;
  int steps = 100;
};

/// Everything `satx train` can be told.
struct TrainOptions {
  DataOptions data;
  PhaseOptions phases;
  OptimizerOptions optimizer;
  ScheduleOptions schedule;
  LossOptions loss;
  SamplingOptions sampling;
  CheckpointOptions checkpoints;
  AugmentOptions augment;
  RuntimeOptions runtime;
  LrFindOptions lr_find;
  /// Receives progress events (the CLI draws bars from them); may be empty.
  ProgressCallback on_progress;
};

/// `satx finetune`'s defaults: no head phase (2 epochs with a new head), a tenth of the rate,
/// no warm-up.
TrainOptions finetune_defaults();

/// Every option as flat JSON keys (config.json); unset "auto" values are written as "auto"; the
/// progress callback is left out. The keys are the option field names errors use.
nlohmann::json to_json(const TrainOptions& options);

/// Reads options written by to_json; keys it lacks keep their defaults. BadData naming `origin`
/// for a value of the wrong type.
TrainOptions train_options_from_json(const nlohmann::json& json, const std::string& origin);

/// Checks values that need no data or model (ranges, names); a Usage error naming the option
/// field (Error::field()).
void validate(const TrainOptions& options);

}  // namespace satx::train
