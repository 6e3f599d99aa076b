// satx train: parse options into TrainOptions, run the two-phase trainer. Also holds what
// finetune and lr-find share with it (train_cli.hpp).
#include <cstdio>
#include <iostream>

#include "progress.hpp"
#include "satx/models/registry.hpp"
#include "satx/train/trainer.hpp"
#include "train_cli.hpp"

namespace satx::cli {

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
  options.on_progress = make_progress_renderer(options.runtime.log_every, common.quiet);
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
  options.on_progress = make_progress_renderer(options.runtime.log_every, common.quiet);
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
    models::find_manifest(options->data.model);  // an unknown model is a usage error before any work
    if (options->lr_find.enabled) {
      const std::string dir = options->data.out.empty() ? "." : options->data.out;
      return run_lr_find(*options, *common, dir + "/lr_find.csv", dir + "/lr_find.png");
    }
    return run_training(*options, *common);
  };
}

}  // namespace satx::cli
