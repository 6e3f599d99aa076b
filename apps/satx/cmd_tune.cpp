// satx tune: hyperparameter search over satx train's own options. Every training option is
// declared here too, so CLI11 checks them (and --help lists them) before any trial starts; the
// ones given are passed on to each trial as typed.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <set>

#include "progress.hpp"
#include "satx/core/strings.hpp"
#include "satx/train/tune.hpp"
#include "train_cli.hpp"

namespace satx::cli {

namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_cancel{false};

extern "C" void on_cancel_signal(int) { g_cancel.store(true); }

struct TuneCliOptions {
  train::TuneOptions tune;
  train::TrainOptions train;  // parsed only to check what the trials will get
  CommonOptions common;
  std::string budget;
};

// Options that belong to the search (not passed to trials) or that the search owns.
const std::set<std::string> kSearchOptions = {"space", "trials", "parallel", "metric", "search", "startup-trials",
                                              "eta", "min-epochs", "asha", "budget", "threads-per-trial", "out",
                                              "quiet", "verbose", "help"};
// Training options a search cannot vary or pass on: trials own their folder and resume.
const std::set<std::string> kNotSearchable = {"out", "resume", "force", "lr-find", "lr-find-min", "lr-find-max",
                                              "lr-find-steps", "train", "add-train", "valid", "test", "quiet",
                                              "verbose", "help"};

double parse_budget(const std::string& text) {
  if (text.empty()) return 0.0;
  double total = 0.0;
  size_t at = 0;
  while (at < text.size()) {
    size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(text.substr(at), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || value < 0) throw_option("budget", "'" + text + "' is not a duration (e.g. 3600, 90m, 1h30m)");
    at += used;
    const char unit = at < text.size() ? text[at] : 's';
    if (at < text.size()) ++at;
    if (unit == 'h') total += value * 3600;
    else if (unit == 'm') total += value * 60;
    else if (unit == 's') total += value;
    else throw_option("budget", "'" + text + "': units are s, m and h");
  }
  return total;
}

// The given training options, spelled as the trials receive them.
std::vector<std::string> forwarded_args(const CLI::App& command) {
  std::vector<std::string> args;
  for (const CLI::Option* option : command.get_options()) {
    if (option->count() == 0 || option->get_lnames().empty()) continue;
    const std::string& name = option->get_lnames().front();
    if (kSearchOptions.count(name)) continue;
    for (const auto& value : option->results()) args.push_back("-" + name + "=" + value);
  }
  return args;
}

// A command line as `satx train` would parse it: unknown options or bad values fail here.
void dry_parse(const std::vector<std::string>& args, const std::string& context) {
  CLI::App app;
  train::TrainOptions options;
  CommonOptions common;
  bind_train_options(app, options, TrainCommand::Train);
  add_common_options(app, common);
  // The arguments are all `-name=value`; CLI11 reads a single dash as short options.
  std::vector<std::string> reversed;
  for (auto arg = args.rbegin(); arg != args.rend(); ++arg)
    reversed.push_back(starts_with(*arg, "--") ? *arg : "-" + *arg);
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw_usage(context + ": " + e.what());
  }
}

void check_space(const fs::path& file, const CLI::App& command, const std::vector<std::string>& forwarded) {
  const train::SearchSpace space = train::load_search_space(file);
  std::vector<std::string> names;
  for (const CLI::Option* option : command.get_options())
    for (const auto& name : option->get_lnames())
      if (!kSearchOptions.count(name) && !kNotSearchable.count(name)) names.push_back(name);
  for (const auto& param : space.params) {
    if (kNotSearchable.count(param.name) || kSearchOptions.count(param.name))
      throw_usage("search space: '" + param.name + "' cannot be searched (the search sets it for every trial)");
    if (std::find(names.begin(), names.end(), param.name) == names.end())
      throw_usage("search space: " + unknown_value_message("satx train option", param.name, names));
    for (const auto& arg : forwarded)
      if (starts_with(arg, "-" + param.name + "="))
        throw_usage("search space: '" + param.name + "' is searched and also given as -" + param.name +
                    "; drop one of them");
    std::vector<nlohmann::json> probes = param.values;
    if (param.kind != train::SearchParam::Kind::Choice) probes = {param.low, param.high};
    if (param.kind == train::SearchParam::Kind::Int)
      probes = {static_cast<long long>(param.low), static_cast<long long>(param.high)};
    for (const auto& value : probes) {
      auto args = forwarded;
      args.push_back("--" + param.name + "=" + train::format_param_value(value));
      dry_parse(args, "search space: parameter '" + param.name + "' value " + value.dump());
    }
  }
}

std::string params_text(const nlohmann::json& params) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : params.items()) parts.push_back(name + "=" + train::format_param_value(value));
  return join(parts, " ", "");
}

void print_event(const train::TuneEvent& e, const TuneCliOptions& o) {
  using Kind = train::TuneEvent::Kind;
  if (o.common.quiet && e.kind != Kind::TrialEnd) return;
  switch (e.kind) {
    case Kind::Resumed:
      std::fprintf(stderr, "resuming the search in %s: %s\n", o.tune.out.c_str(), e.message.c_str());
      break;
    case Kind::BudgetSpent:
      std::fprintf(stderr, "budget spent: no new trials; waiting for the running ones\n");
      break;
    case Kind::TrialStart:
      // Trials are numbered as their folders (trials/0007) and the leaderboard number them: from 0.
      std::fprintf(stderr, "trial %d (%d of %d): %s\n", e.trial->index, e.trial->index + 1, o.tune.trials,
                   params_text(e.trial->params).c_str());
      break;
    case Kind::TrialEpoch: {
      const double value = e.trial->values.at(e.epoch);
      if (e.cutoff)
        std::fprintf(stderr, "trial %d epoch %d: %s %.4f, rung cutoff %.4f: %s\n", e.trial->index, e.epoch,
                     e.metric.c_str(), value, *e.cutoff, e.message == "stop" ? "stopped" : "continues");
      else  // a trial runs for minutes: a line per epoch shows it moving
        std::fprintf(stderr, "trial %d epoch %d: %s %.4f\n", e.trial->index, e.epoch, e.metric.c_str(), value);
      break;
    }
    case Kind::TrialEnd: {
      const auto& t = *e.trial;
      if (t.status == train::TrialStatus::Failed) {
        std::fprintf(stderr, "trial %d failed: %s\n", t.index, e.message.c_str());
      } else {
        std::fprintf(stderr, "trial %d %s after %d epochs in %s: %s %.4f%s\n", t.index, train::trial_status_name(t.status),
                     t.epochs(), format_duration(t.wall_seconds).c_str(), e.metric.c_str(), e.value.value_or(std::nan("")),
                     e.best ? " (best so far)" : "");
      }
      break;
    }
  }
}

std::string default_out() {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return std::string("runs/tune-") + stamp;
}

int run_tune(TuneCliOptions& o, const CLI::App& command) {
  if (o.train.data.train_dir.empty() || o.train.data.valid_dir.empty())
    throw_usage("satx tune needs -train and -valid: every trial trains and validates (see 'satx tune --help')");
  o.tune.train_args = forwarded_args(command);
  for (const auto& arg : o.tune.train_args)
    for (const char* owned : {"-resume", "-lr-find"})
      if (starts_with(arg, owned))
        throw_usage(arg.substr(0, arg.find('=')) + " cannot be given to satx tune: the search resumes by itself and runs training trials");
  check_space(o.tune.space_file, command, o.tune.train_args);
  o.tune.budget_seconds = parse_budget(o.budget);
  o.tune.seed = o.common.context.seed;
  o.tune.out = o.train.data.out.empty() ? default_out() : o.train.data.out;
  // The running binary itself, even if the file is replaced during a long search: every trial
  // runs the same satx.
  o.tune.program = "/proc/self/exe";

  struct sigaction action = {};
  action.sa_handler = on_cancel_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  if (!o.common.quiet)
    std::fprintf(stderr, "search folder: %s (journal.jsonl, trials/, leaderboard.csv)\n", o.tune.out.c_str());
  auto runner = train::make_process_runner(o.tune);
  const auto result = train::tune(o.tune, *runner, [&o](const train::TuneEvent& e) { print_event(e, o); }, &g_cancel);
  const auto& summary = result.summary;
  const auto& counts = summary["trials"];
  std::printf("search: %s (%zu trials: %d finished, %d stopped early, %d failed)\n", o.tune.out.c_str(),
              result.trials.size(), counts["finished"].get<int>(), counts["stopped"].get<int>(), counts["failed"].get<int>());
  if (summary.contains("best")) {
    const auto& best = summary["best"];
    std::printf("best: trial %d, %s %.4f: %s\n", best["trial"].get<int>(), result.metric.c_str(),
                best["value"].get<double>(), params_text(best["params"]).c_str());
    std::printf("model: %s\n", (o.tune.out / "best" / "best.safetensors").c_str());
    const auto& c = summary["compute"];
    std::printf("compute: %lld epochs in %s; until the best: %lld epochs (%s); every trial to completion: %lld epochs (about %s)\n",
                c["epochs_run"].get<long long>(), format_duration(c["seconds_run"].get<double>()).c_str(),
                c["epochs_to_best"].get<long long>(), format_duration(c["seconds_to_best"].get<double>()).c_str(),
                c["epochs_if_every_trial_completed"].get<long long>(),
                format_duration(c["seconds_if_every_trial_completed"].get<double>()).c_str());
    std::printf("retrain: %s\n", best["command"].get<std::string>().c_str());
  }
  std::printf("leaderboard: %s\n", (o.tune.out / "leaderboard.csv").c_str());
  if (result.interrupted) {
    std::fprintf(stderr, "interrupted: rerun the same command with -out=%s to continue (finished trials are kept)\n",
                 o.tune.out.c_str());
    return 130;
  }
  return 0;
}

}  // namespace

void setup_tune(CLI::App& command, Run& run) {
  auto options = std::make_shared<TuneCliOptions>();
  auto& o = *options;
  bind_train_options(command, o.train, TrainCommand::Train);
  add_common_options(command, o.common);
  auto* out = command.get_option("--out");
  out->description("Search folder: journal.jsonl, trials/, leaderboard.csv, tune.json, best -> the best trial "
                   "(default runs/tune-<timestamp>); rerunning into it resumes");
  command.get_option("--seed")->description("Seed of the sampler and of every trial");
  const char* group = "Search";
  command.add_option("--space", o.tune.space_file,
                     "Search space (JSON): {\"lr\": {\"loguniform\": [1e-4, 3e-3]}, \"optimizer\": {\"choice\": [\"adamw\", "
                     "\"sgd\"]}, \"freeze-stages\": {\"int\": [0, 4]}, \"label-smoothing\": {\"uniform\": [0, 0.2]}}")
      ->required()->group(group);
  command.add_option("--trials", o.tune.trials, "Trials to run")->group(group);
  command.add_option("--parallel", o.tune.parallel, "Trials at once (each gets cores/parallel threads)")->group(group);
  command.add_option("--metric", o.tune.metric, "Validation metric to maximize (val_loss: minimize); auto = the trials' -monitor")
      ->group(group);
  command.add_option("--search", o.tune.sampler.method, "Sampler: tpe (random for -startup-trials, then TPE) or random")
      ->check(CLI::IsMember({"tpe", "random"}))->group(group);
  command.add_option("--startup-trials", o.tune.sampler.startup_trials, "TPE: random trials before the model")->group(group);
  command.add_option("--asha", o.tune.asha.enabled, "Stop trials that trail at a rung (asynchronous successive halving) (true/false)")
      ->group(group);
  command.add_option("--min-epochs", o.tune.asha.min_epochs, "ASHA: first rung, in epochs of the whole run (phase 1 counts)")
      ->group(group);
  command.add_option("--eta", o.tune.asha.eta, "ASHA: rungs at min-epochs * eta^k; each keeps its best 1/eta")->group(group);
  command.add_option("--budget", o.budget, "Wall time after which no trial starts (3600, 90m, 1h30m; empty = none)")
      ->group(group);
  command.add_option("--threads-per-trial", o.tune.threads_per_trial, "CPU threads per trial (0 = cores / parallel)")
      ->group(group);
  command.footer("Every 'satx train' option above is passed to each trial; the space's options vary per trial. "
                 "Rerun the same command after an interruption: finished trials are kept, running ones restart. "
                 "docs/train.md has the details.");
  run = [options, &command] { return run_tune(*options, command); };
}

}  // namespace satx::cli
