// satx export: a model file as an ONNX graph (network + softmax) for onnxruntime, TensorRT and
// other runtimes; the preprocessing it expects travels in its metadata_props.
#include <filesystem>

#include "cli.hpp"
#include "satx/core/error.hpp"
#include "satx/deploy/onnx_export.hpp"
#include "satx/models/model_file.hpp"

namespace satx::cli {
namespace {

namespace fs = std::filesystem;

struct ExportCliOptions {
  std::string model;
  bool quiet = false;
  std::string format = "onnx";
  std::string out;
  deploy::OnnxExportOptions onnx;
};

fs::path output_path(const ExportCliOptions& o) {
  if (!o.out.empty()) return o.out;
  return fs::path(o.model).replace_extension(".onnx");
}

int run_export(const ExportCliOptions& o) {
  if (o.format != "onnx") throw_usage("-format " + o.format + ": satx exports onnx only");
  const fs::path out = output_path(o);
  std::error_code ignored;
  // Writing over the input would destroy the only copy of the trained weights.
  if (fs::equivalent(out, o.model, ignored))
    throw_usage("-out " + out.string() + " is the model file itself; name another file");

  const auto log = make_logger(o.quiet, /*verbose=*/false);
  const models::LoadedModel model = models::load_model_file(o.model, torch::kCPU);
  const deploy::OnnxExportSummary summary = deploy::export_onnx(model, out, o.onnx);
  const auto& m = model.metadata;
  log->info("{} ({} classes, input {}x{}x{}) -> {}: opset {}, {} nodes, {} parameters, {:.1f} MB, batch {}",
                    m.arch, m.classes.size(), m.in_channels, m.input_size, m.input_size, out.string(), summary.opset,
                    summary.nodes, summary.parameters, summary.bytes / 1e6,
                    o.onnx.batch > 0 ? std::to_string(o.onnx.batch) : std::string("any"));
  return 0;
}

}  // namespace

void setup_export(CLI::App& command, Run& run) {
  auto options = std::make_shared<ExportCliOptions>();
  auto& o = *options;
  command.footer(
      "The graph takes 'input', float32 [batch, C, S, S] normalized as the metadata says (satx.mean, satx.std, "
      "satx.input_size, satx.channel_order), and returns 'probabilities', float32 [batch, classes]. "
      "See docs/serve.md for onnxruntime and TensorRT.");
  command.add_option("--model,-m", o.model, "Model file (.safetensors written by satx train)")->required()->group("Input");
  command.add_option("--format", o.format, "Export format")->capture_default_str()->group("Output");
  command.add_option("--out,-o", o.out, "Output file (default: the model's path with .onnx)")->group("Output");
  command.add_option("--opset", o.onnx.opset, "ONNX opset, 13..17")->capture_default_str()->group("Output");
  command.add_option("--batch", o.onnx.batch, "Fixed batch size of the input (0: any, a symbolic dimension)")
      ->capture_default_str()->group("Output");
  command.add_flag("--quiet,-q", o.quiet, "Print nothing but errors");
  run = [options] { return run_export(*options); };
}

}  // namespace satx::cli
