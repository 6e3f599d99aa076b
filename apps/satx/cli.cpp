#include "cli.hpp"

#include <cctype>
#include <iostream>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace satx::cli {

std::vector<std::string> normalize_args(int argc, char** argv) {
  std::vector<std::string> args;
  bool after_separator = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") after_separator = true;
    // `-model=x` -> `--model=x`; "-h", "-1.5" and "-" keep their meaning.
    if (!after_separator && arg.size() > 2 && arg[0] == '-' && arg[1] != '-' &&
        std::isalpha(static_cast<unsigned char>(arg[1])) &&
        (std::isalnum(static_cast<unsigned char>(arg[2])) || arg[2] == '-' || arg[2] == '_'))
      arg = "-" + arg;
    args.push_back(arg);
  }
  return args;
}

void add_tta_scales_option(CLI::App& command, std::vector<double>& scales, const std::string& group) {
  command
      .add_option("--tta-scales", scales,
                  "Also score each tile at these multiples of the model's input size and average the probabilities, "
                  "e.g. 1,1.125 (with -tta: every view at every size)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->capture_default_str()
      ->group(group);
}

void add_common_options(CLI::App& command, CommonOptions& options) {
  const char* group = "Runtime";
  command.add_option("--device", options.context.device, "Compute device: auto, cpu, cuda or cuda:N")->group(group);
  command.add_option("--seed", options.context.seed, "Seed for shuffling, augmentation and initialization")->group(group);
  command.add_option("--threads", options.context.threads, "CPU threads for compute and decoding (0 = all cores)")->group(group);
  command.add_flag("--quiet,-q", options.quiet, "Only warnings and errors on stderr")->group(group);
  command.add_flag("--verbose,-v", options.verbose, "Debug logging on stderr")->group(group);
}

std::shared_ptr<spdlog::logger> make_logger(bool quiet, bool verbose) {
  auto logger = std::make_shared<spdlog::logger>("satx", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern("%^[%L]%$ %v");
  logger->set_level(quiet ? spdlog::level::warn : verbose ? spdlog::level::debug : spdlog::level::info);
  return logger;
}

Context make_cli_context(const CommonOptions& options) {
  return make_context(options.context, make_logger(options.quiet, options.verbose));
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

int not_built(const std::string& name) {
  std::cerr << "satx: '" << name << "' is not built yet in this version of satx\n";
  return 1;
}

}  // namespace satx::cli
