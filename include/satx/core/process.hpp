#pragma once
/// A child process with its output in a log file: what `satx tune` runs its trials as.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace satx {

/// A running child. It dies with its parent (Linux PR_SET_PDEATHSIG), so a killed parent never
/// leaves a child writing into a folder a later run reuses; it runs in a process group of its
/// own, so a terminal's Ctrl-C goes to the parent alone.
class ChildProcess {
 public:
  /// Starts `argv[0]` (a path) with `argv`, stdout and stderr appended to `log`; stdin is
  /// /dev/null. Throws Runtime naming the program when it cannot start.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log);
  /// Kills a child still running (SIGKILL) and reaps it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The exit status once the child has ended (128 + signal when a signal ended it), else
  /// nullopt. Never blocks.
  std::optional<int> poll();
  /// Sends SIGTERM, waits up to `grace_seconds` for the child to end, then SIGKILL; returns
  /// the exit status.
  int terminate(double grace_seconds);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace satx
