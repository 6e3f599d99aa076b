// The satx application: builds the CLI from the command table, parses, dispatches, and turns
// satx::Error into `satx: error: ...` plus the documented exit code.
#include <algorithm>
#include <iostream>

#include <c10/util/Exception.h>

#include "application.hpp"

namespace {

std::string exit_code_footer() {
  std::string text = "Exit codes:\n";
  for (const auto& row : satx::exit_code_table())
    text += "  " + std::to_string(static_cast<int>(row.code)) + "  " + row.meaning + "\n";
  return text + "\nRun 'satx <command> --help' for a command's options. Options take one dash or two:\n"
                "'-model=xception', '-model xception', '--model=xception' and '--model xception' are the same.";
}

void allow_extras_everywhere(CLI::App& app) {
  app.allow_extras();
  for (CLI::App* sub : app.get_subcommands({})) allow_extras_everywhere(*sub);
}

std::string command_path(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* parent = app.get_parent(); parent; parent = parent->get_parent())
    path = parent->get_name() + " " + path;
  return path;
}

// Leftover arguments mean an unknown option or command: name it, suggest the nearest.
void reject_extras(CLI::App& app) {
  std::vector<std::string> extras = app.remaining();
  if (!extras.empty()) {
    const std::string& word = extras.front();
    std::vector<std::string> candidates;
    bool is_option = word.rfind("-", 0) == 0;
    if (is_option) {
      for (const CLI::Option* option : app.get_options())
        for (const auto& name : option->get_lnames()) candidates.push_back(name);
    } else {
      for (const CLI::App* sub : app.get_subcommands({})) candidates.push_back(sub->get_name());
    }
    std::string bare = word.substr(0, word.find('='));
    std::string message = (is_option ? "unknown option '" : "unexpected argument '") + bare + "' for '" +
                          command_path(app) + "'";
    // Names are compared without their dashes: "-bogus" and "--out" share two dashes and a
    // few letters, which once made a suggestion out of nothing.
    const size_t dashes = std::min(bare.find_first_not_of('-'), bare.size());
    std::string suggestion = satx::nearest(bare.substr(dashes), candidates);
    if (!suggestion.empty()) message += "; did you mean '" + bare.substr(0, dashes) + suggestion + "'?";
    message += " (see '" + command_path(app) + " --help')";
    satx::throw_usage(message);
  }
  for (CLI::App* sub : app.get_subcommands()) reject_extras(*sub);
}

}  // namespace

namespace satx::cli {

Application build_application() {
  Application application;
  application.app = std::make_unique<CLI::App>("satx: train, evaluate and deploy satellite/aerial tile classifiers", "satx");
  CLI::App& app = *application.app;
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", std::string("satx ") + satx::version() + " (LibTorch " + satx::torch_version() + ")");
  app.footer(exit_code_footer());
  app.require_subcommand(0, 1);

  auto& bodies = application.bodies;
  bodies.reserve(command_table().size());
  for (const auto& row : command_table()) {
    CLI::App* command = app.add_subcommand(row.name, row.summary);
    bodies.emplace_back(command, Run{});
    row.setup(*command, bodies.back().second);
  }
  allow_extras_everywhere(app);
  return application;
}

void parse_arguments(Application& application, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 consumes the vector from the back
  try {
    application.app->parse(args);
  } catch (const CLI::CallForHelp&) {
    throw;
  } catch (const CLI::CallForAllHelp&) {
    throw;
  } catch (const CLI::CallForVersion&) {
    throw;
  } catch (const CLI::ArgumentMismatch& e) {
    // CLI11 says "--lr: At Most 1 required but received 2" for a repeated flag.
    const std::string text = e.what();
    const size_t colon = text.find(':');
    if (text.find("At Most 1 required but received") != std::string::npos && colon != std::string::npos)
      throw_usage(text.substr(0, colon) + " is given more than once; give each option once");
    throw_usage(text);
  } catch (const CLI::ParseError& e) {
    throw_usage(e.what());
  }
  reject_extras(*application.app);
}

int run_application(Application& application, int argc, char** argv) {
  CLI::App& app = *application.app;
  std::vector<std::string> args = normalize_args(argc, argv);
  if (args.empty()) {
    std::cout << app.help();
    return 2;
  }
  try {
    try {
      parse_arguments(application, args);
    } catch (const CLI::ParseError& e) {  // help and version requests
      return app.exit(e);
    }
    for (auto& [command, run] : application.bodies) {
      if (!command->parsed()) continue;
      if (!run) throw_usage("'" + command_path(*command) + "' needs a subcommand (see --help)");
      return run();
    }
    std::cout << app.help();
    return 2;
  } catch (const Error& e) {
    // The library names option fields (head_epochs); the command line knows them as flags.
    if (!e.field().empty()) {
      std::string flag = "-" + e.field();
      std::replace(flag.begin(), flag.end(), '_', '-');
      std::cerr << "satx: error: " << option_message(flag, e.problem()) << "\n";
    } else {
      std::cerr << "satx: error: " << e.what() << "\n";
    }
    return exit_code(e.code());
  } catch (const c10::Error& e) {
    std::cerr << "satx: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "satx: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace satx::cli
