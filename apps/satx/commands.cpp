// The command table: one row per subcommand (name, summary, setup), ninja-style.
#include "cli.hpp"

namespace satx::cli {

void setup_train(CLI::App&, Run&);
void setup_finetune(CLI::App&, Run&);
void setup_eval(CLI::App&, Run&);
void setup_report(CLI::App&, Run&);
void setup_predict(CLI::App&, Run&);
void setup_predict_merge(CLI::App&, Run&);
void setup_serve(CLI::App&, Run&);
void setup_export(CLI::App&, Run&);
void setup_data(CLI::App&, Run&);
void setup_weights(CLI::App&, Run&);
void setup_info(CLI::App&, Run&);
void setup_sample_data(CLI::App&, Run&);
void setup_lr_find(CLI::App&, Run&);
void setup_tune(CLI::App&, Run&);

const std::vector<Command>& command_table() {
  static const std::vector<Command> table = {
      {"train", "Train a tile classifier: frozen backbone + new head, then the full network", setup_train},
      {"finetune", "Continue training a satx model on new or extended data", setup_finetune},
      {"eval", "Evaluate a model on a labelled folder: metrics, confusion matrix, quality gates", setup_eval},
      {"report", "Write one self-contained HTML page of a training run: curves, confusion, errors, model card", setup_report},
      {"predict", "Score tiles (folder, file, list or stdin) into CSV, JSONL or GeoJSON", setup_predict},
      {"predict-merge", "Concatenate the outputs of sharded predict runs", setup_predict_merge},
      {"serve", "Serve a model over HTTP: dynamic batching, health, metrics, live reload", setup_serve},
      {"export", "Export a model to ONNX (network + softmax, preprocessing in its metadata)", setup_export},
      {"tune", "Search training hyperparameters: TPE sampling, ASHA early stopping, a leaderboard", setup_tune},
      {"lr-find", "Learning-rate range test: suggests a rate and plots the curve", setup_lr_find},
      {"data", "Dataset tools: 'data check' lints a folder-per-class dataset", setup_data},
      {"weights", "Import published ImageNet weights ('weights import', 'weights list')", setup_weights},
      {"info", "Describe a satx model file: arch, classes, input, training summary", setup_info},
      {"sample-data", "Write a small synthetic folder-per-class dataset to try satx on", setup_sample_data},
  };
  return table;
}

}  // namespace satx::cli
