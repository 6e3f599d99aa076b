#pragma once
// The option groups several commands share, each declared once: how the network runs
// (inference) and how tiles flow through it (scoring). Flags bind straight into the library's
// Options structs, so --help shows the structs' defaults.

#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "satx/eval/html_report.hpp"
#include "satx/infer/engine.hpp"
#include "satx/infer/scorer.hpp"

namespace satx::cli {

/// -precision, -tta, -tta-scales into `options` (group "Inference").
void bind_engine_options(CLI::App& command, infer::EngineOptions& options);

/// -batch, -decode-threads, -strict into `options` (group "Scoring").
void bind_scorer_options(CLI::App& command, infer::ScorerOptions& options);

/// -threshold for two-class models, overriding the model's stored one (group "Decision").
void bind_threshold_option(CLI::App& command, std::optional<double>& threshold);

/// -gallery, -thumbnail, -title of the HTML report into `options` (report and
/// eval -report share them).
void bind_html_report_options(CLI::App& command, eval::HtmlReportOptions& options, const std::string& group);

/// Binds an enum option: `names` maps each accepted spelling to its value; --help lists them.
template <typename Enum>
CLI::Option* add_enum_option(CLI::App& command, const std::string& name, Enum& value,
                             const std::map<std::string, Enum>& names, const std::string& help) {
  std::string choices, current;
  for (const auto& [spelling, choice] : names) {
    choices += (choices.empty() ? "" : ", ") + spelling;
    if (choice == value && current.empty()) current = spelling;
  }
  return command.add_option(name, value, help + " (" + choices + ")")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case).description(""))
      ->default_str(current);
}

}  // namespace satx::cli
