#include "option_groups.hpp"

#include "cli.hpp"

namespace satx::cli {

void bind_engine_options(CLI::App& command, infer::EngineOptions& options) {
  const char* group = "Inference";
  add_enum_option(command, "--precision", options.precision,
                  {{"auto", infer::Precision::Auto},
                   {"fp32", infer::Precision::Float32},
                   {"float32", infer::Precision::Float32},
                   {"bf16", infer::Precision::BFloat16},
                   {"bfloat16", infer::Precision::BFloat16},
                   {"fp16", infer::Precision::Float16},
                   {"float16", infer::Precision::Float16}},
                  "Forward-pass precision: auto = bf16 autocast on a CUDA device that supports it (else fp16), fp32 "
                  "on the CPU")
      ->group(group);
  command.add_flag("--tta", options.tta, "Average the 8 dihedral views (flips and 90-degree rotations) of each tile (8x slower)")
      ->group(group);
  add_tta_scales_option(command, options.tta_scales, group);
}

void bind_scorer_options(CLI::App& command, infer::ScorerOptions& options) {
  const char* group = "Scoring";
  command.add_option("--batch,-b", options.batch_size, "Tiles per forward pass")->group(group);
  command.add_option("--decode-threads", options.decode_threads,
                     "Threads decoding tiles (0 = a share of --threads on CPU, all of them on CUDA)")
      ->group(group);
  command.add_flag("--strict", options.strict, "Stop at the first unreadable tile (exit 3) instead of listing and skipping it")
      ->group(group);
}

void bind_threshold_option(CLI::App& command, std::optional<double>& threshold) {
  command.add_option("--threshold", threshold, "Two-class models: decision threshold on p(positive class), overriding the stored one")
      ->group("Decision");
}

void bind_html_report_options(CLI::App& command, eval::HtmlReportOptions& options, const std::string& group) {
  command.add_option("--gallery", options.gallery, "HTML report: tiles in each gallery (most confident errors, least confident correct)")
      ->group(group);
  command.add_option("--thumbnail", options.thumbnail, "HTML report: thumbnail size in px (longer side)")->group(group);
  command.add_option("--title", options.title, "HTML report: page heading (default: 'satx report: <run folder>')")->group(group);
}

}  // namespace satx::cli
