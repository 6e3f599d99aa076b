#pragma once
// What `satx train`, `satx finetune` and `satx lr-find` share: the option table bound into
// TrainOptions, and the renderer that turns the trainer's progress events into bars and lines.

#include <memory>

#include "cli.hpp"
#include "satx/train/options.hpp"

namespace satx::cli {

/// Which command the options are for (finetune swaps -weights/-model for -from, lr-find adds its range).
enum class TrainCommand { Train, Finetune, LrFind };

/// Declares every training option of `which` on `command`, bound into `options`.
void bind_train_options(CLI::App& command, train::TrainOptions& options, TrainCommand which);

/// A progress callback drawing Keras-style epoch bars on stderr (plain lines off a terminal).
train::ProgressCallback make_progress_renderer(int log_every, bool quiet);

/// Runs the trainer with `options` and prints the outcome to stdout; returns the exit status.
int run_training(train::TrainOptions options, const CommonOptions& common);

/// Runs the range test, writes `csv` and `png`, prints the suggestion; returns the exit status.
int run_lr_find(train::TrainOptions options, const CommonOptions& common, const std::string& csv, const std::string& png);

}  // namespace satx::cli
