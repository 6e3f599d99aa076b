// The trial runner of satx tune: each trial is a `satx train` child process, watched through
// the metrics.jsonl it appends one line per epoch to.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "satx/core/error.hpp"
#include "satx/core/process.hpp"
#include "satx/core/strings.hpp"
#include "satx/train/tune.hpp"

namespace satx::train {

namespace {

bool has_flag(const std::vector<std::string>& args, const std::string& name) {
  for (const auto& arg : args) {
    std::string bare = arg;
    while (!bare.empty() && bare.front() == '-') bare.erase(bare.begin());
    if (bare == name || starts_with(bare, name + "=")) return true;
  }
  return false;
}

// The last "error:" line a failed trial printed, for the journal and the leaderboard.
std::string last_error_line(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, found;
  while (std::getline(in, line))
    if (line.find("error:") != std::string::npos) found = line;
  const auto at = found.find("error:");
  return at == std::string::npos ? found : found.substr(at + 7);
}

class ProcessRunner : public TrialRunner {
 public:
  explicit ProcessRunner(TuneOptions options) : options_(std::move(options)) {}

  void start(int index, const std::vector<std::string>& flags, const std::filesystem::path& dir) override {
    std::vector<std::string> argv = {options_.program.string(), "train"};
    argv.insert(argv.end(), options_.train_args.begin(), options_.train_args.end());
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("-out=" + dir.string());
    if (!has_flag(options_.train_args, "seed")) argv.push_back("-seed=" + std::to_string(options_.seed));
    if (!has_flag(options_.train_args, "threads")) {
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      const int threads = options_.threads_per_trial > 0 ? options_.threads_per_trial
                                                         : std::max(1, cores / std::max(1, options_.parallel));
      argv.push_back("-threads=" + std::to_string(threads));
    }
    Trial trial;
    trial.metrics = dir / "metrics.jsonl";
    trial.log = dir.string() + ".log";
    std::filesystem::remove(trial.log);
    {
      std::ofstream log(trial.log);
      log << "$ " << join(argv, " ", "") << "\n";
    }
    trial.started = std::chrono::steady_clock::now();
    trial.process = std::make_unique<ChildProcess>(argv, trial.log);
    trials_[index] = std::move(trial);
  }

  Update poll(int index) override {
    Trial& trial = trials_.at(index);
    Update update;
    // The exit status first, then the lines: a child that ended has written all of them.
    const auto status = trial.process->poll();
    read_lines(trial, update.epochs);
    update.wall_seconds = seconds_since(trial.started);
    if (status) {
      update.exit_status = status;
      if (*status != 0 && !trial.stopped) update.error = last_error_line(trial.log);
      if (update.error.empty() && *status != 0 && !trial.stopped)
        update.error = "satx train exited with status " + std::to_string(*status) + " (see " + trial.log.string() + ")";
      trials_.erase(index);
    }
    return update;
  }

  void stop(int index) override {
    auto found = trials_.find(index);
    if (found == trials_.end()) return;
    found->second.stopped = true;
    found->second.process->terminate(10.0);
  }

 private:
  struct Trial {
    std::unique_ptr<ChildProcess> process;
    std::filesystem::path metrics;
    std::filesystem::path log;
    std::streamoff offset = 0;
    std::chrono::steady_clock::time_point started;
    bool stopped = false;
  };

  // Whole lines only: the trainer appends each line in one write, but a poll may land mid-write.
  static void read_lines(Trial& trial, std::vector<nlohmann::json>& out) {
    std::ifstream in(trial.metrics, std::ios::binary);
    if (!in) return;
    in.seekg(trial.offset);
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t begin = 0;
    for (size_t end; (end = chunk.find('\n', begin)) != std::string::npos; begin = end + 1) {
      try {
        auto line = nlohmann::json::parse(chunk.substr(begin, end - begin));
        if (line.is_object() && line.contains("global_epoch")) out.push_back(std::move(line));
      } catch (const nlohmann::json::exception&) {
        // Not an epoch line the search can use; the trial's own files keep it.
      }
    }
    trial.offset += static_cast<std::streamoff>(begin);
  }

  TuneOptions options_;
  std::map<int, Trial> trials_;
};

}  // namespace

std::unique_ptr<TrialRunner> make_process_runner(const TuneOptions& options) {
  return std::make_unique<ProcessRunner>(options);
}

}  // namespace satx::train
