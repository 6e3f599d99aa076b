#pragma once
/// The one error type of satx and the exit codes it maps to.

#include <stdexcept>
#include <string>
#include <vector>

namespace satx {

/// What went wrong, as the process exit code reports it (docs/cli.md lists them).
enum class ErrorCode : int {
  Ok = 0,           ///< success
  Runtime = 1,      ///< a runtime failure (I/O error, out of memory, not built yet)
  Usage = 2,        ///< a bad flag or value; the message names it and suggests a fix
  BadData = 3,      ///< bad data or a malformed model/weights file
  QualityGate = 4,  ///< `eval -fail-under` found a metric below its floor
};

/// One row of the exit-code table.
struct ExitCodeInfo {
  ErrorCode code;
  const char* name;
  const char* meaning;
};

/// The exit-code table, in code order; `--help` and docs print it.
const std::vector<ExitCodeInfo>& exit_code_table();

/// The process exit status for `code`.
int exit_code(ErrorCode code);

/// "<name> <problem>", or "<name>=..." / "<name>: ..." when the problem starts with '=' or ':'.
std::string option_message(const std::string& name, const std::string& problem);

/// The error every satx component throws. The library never prints or exits; the CLI
/// catches this, prints `satx: error: <message>` and exits with `exit_code(code())`.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  /// An error about an option: what() is "<field> <problem>"; the CLI shows the flag instead.
  Error(ErrorCode code, std::string field, std::string problem)
      : std::runtime_error(option_message(field, problem)), code_(code), field_(std::move(field)), problem_(std::move(problem)) {}
  /// What kind of failure this is.
  ErrorCode code() const { return code_; }
  /// The option field at fault (an Options struct's field name, as config.json spells it), or "".
  const std::string& field() const { return field_; }
  /// The message without the field name.
  const std::string& problem() const { return problem_; }

 private:
  ErrorCode code_;
  std::string field_;
  std::string problem_;
};

/// Shorthands that read well at the throw site.
[[noreturn]] void throw_usage(const std::string& message);
[[noreturn]] void throw_bad_data(const std::string& message);
[[noreturn]] void throw_runtime(const std::string& message);
/// A Usage error about option `field`: "<field> <problem>", e.g. ("lr", "must be > 0, got -1").
[[noreturn]] void throw_option(const std::string& field, const std::string& problem);

/// Levenshtein edit distance, for "did you mean" suggestions.
size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate nearest to `word` (empty when none is reasonably close).
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

/// "unknown X 'word'; did you mean 'y'? valid: a, b, c" as one message.
std::string unknown_value_message(const std::string& what, const std::string& word,
                                  const std::vector<std::string>& candidates);

}  // namespace satx
