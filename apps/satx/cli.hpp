#pragma once
// Shared pieces of the satx command line: the command table, argument normalization and the
// options every command has. Only apps/ knows about CLI11.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "satx/core/context.hpp"
#include "satx/core/error.hpp"

namespace satx::cli {

/// What a command does once its options are parsed; returns the exit status.
using Run = std::function<int()>;

/// Adds a command's options to `command` and sets `run` to its body.
using Setup = void (*)(CLI::App& command, Run& run);

/// One row of the command table.
struct Command {
  const char* name;
  const char* summary;
  Setup setup;
};

/// Every subcommand, in the order `satx --help` lists them.
const std::vector<Command>& command_table();

/// Rewrites single-dash long options (`-model=x`, `-model x`) to their double-dash form;
/// single letters (`-h`), negative numbers and a lone `-` (stdin) are left alone.
std::vector<std::string> normalize_args(int argc, char** argv);

/// Options shared by every command that computes: device, seed, threads, verbosity.
struct CommonOptions {
  ContextOptions context;
  bool quiet = false;
  bool verbose = false;
};

/// Binds CommonOptions into `command` under the "Runtime" group.
void add_common_options(CLI::App& command, CommonOptions& options);

/// Binds `-tta-scales` (comma-separated multiples of the model's input size) into `scales`
/// under `group`; eval and predict share it.
void add_tta_scales_option(CLI::App& command, std::vector<double>& scales, const std::string& group);

/// A Context whose logger writes to stderr at the chosen verbosity.
Context make_cli_context(const CommonOptions& options);

/// A stderr logger honouring -quiet / -verbose.
std::shared_ptr<spdlog::logger> make_logger(bool quiet, bool verbose);

/// Whether stderr is a terminal (progress bars) or a log (periodic lines).
bool stderr_is_terminal();

/// The "not built yet" body for a command whose issue has not landed: says so, exits 1.
int not_built(const std::string& name);

}  // namespace satx::cli
