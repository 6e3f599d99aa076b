#pragma once
// The whole satx command line as an object, so tests can parse without running a process.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"

namespace satx::cli {

/// The root CLI11 app with every command of the table and each command's body.
struct Application {
  std::unique_ptr<CLI::App> app;
  std::vector<std::pair<CLI::App*, Run>> bodies;
};

/// Builds the CLI from command_table().
Application build_application();

/// Parses already-normalized arguments (no program name); throws Usage errors for bad or
/// unknown options and lets CLI11's help/version requests through as CLI::ParseError.
void parse_arguments(Application& application, std::vector<std::string> args);

/// Parses argv, runs the chosen command and maps errors to exit codes (the body of main).
int run_application(Application& application, int argc, char** argv);

}  // namespace satx::cli
