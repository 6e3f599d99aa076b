#include "satx/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <optional>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/core/strings.hpp"
#include "satx/models/model_file.hpp"
#include "satx/models/registry.hpp"
#include "satx/train/checkpoint.hpp"
#include "satx/train/early_stopping.hpp"
#include "satx/train/plan.hpp"
#include "train/detail/phase_runner.hpp"
#include "train/detail/run_files.hpp"
#include "train/detail/session.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace satx::train {

namespace {

using detail::Phase;

std::string default_run_dir(const std::string& arch) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + arch + "-" + stamp;
}

// The options a resume ignores: those the user set (they differ from the command's defaults)
// that the saved run resolved otherwise.
std::string describe_differences(const json& saved, const TrainOptions& given) {
  const json given_json = to_json(given);
  const json defaults = to_json(given.data.from.empty() ? TrainOptions{} : finetune_defaults());
  std::string text;
  for (const auto& [key, value] : given_json.items()) {
    if (key == "out" || key == "resume" || key == "log_every") continue;
    if (defaults.contains(key) && defaults.at(key) == value) continue;
    // "auto" (-1, null, "auto") asks for what the saved run resolved; it cannot be ignored.
    if (value.is_null() || value == -1 || value == "auto") continue;
    if (saved.contains(key) && saved.at(key) != value)
      text += (text.empty() ? "" : ", ") + key + " (" + saved.at(key).dump() + " kept, " + value.dump() + " ignored)";
  }
  return text;
}

// Trains one run: the run directory, resume bookkeeping and the phases in order.
class Trainer {
 public:
  Trainer(const TrainOptions& options, const Context& context) : given_(options), context_(context) {
    if (!context_.log) context_.log = null_logger();
  }

  TrainResult run() {
    start_ = std::chrono::steady_clock::now();
    // Every check (options, data, classes, weights) happens before the run directory exists.
    prepare();
    auto& s = *session_;
    if (!resuming_) {
      files_->write_config(plan_->to_json());
      files_->write_classes(plan_->classes);
      files_->rewrite_metrics({});
    } else {
      restore_train_state(files_->path("state.pt"), s.network(), nullptr);
      files_->rewrite_metrics(book_.history);
      s.log().info("resuming {} after {} epoch(s) of phase '{}'", files_->dir().string(), state_.epoch, state_.phase);
    }
    const auto& p = plan_->options.phases;
    int head_start = 0, full_start = 0;
    if (resuming_) {
      if (state_.phase == "head") head_start = state_.epoch;
      else head_start = p.head_epochs, full_start = state_.epoch;
    }
    detail::PhaseRunner runner(s, *files_, state_, book_, result_);
    if (head_start < p.head_epochs) runner.run(Phase::Head, p.head_epochs, head_start, /*final_phase=*/p.epochs == 0);
    if (full_start < p.epochs) runner.run(Phase::Full, p.epochs, full_start, /*final_phase=*/true);
    finish_run();
    return result_;
  }

 private:
  void prepare() {
    validate(given_);
    const std::string arch =
        given_.data.from.empty() ? models::find_manifest(given_.data.model).arch : std::string("finetune");
    const fs::path out = given_.data.out.empty() ? fs::path(default_run_dir(arch)) : fs::path(given_.data.out);
    const fs::path state_path = out / "state.pt";
    Context run_context = context_;
    std::error_code error;
    if (fs::exists(state_path, error)) {
      state_ = read_train_state(state_path);
      if (state_.finished) throw_option("out", "'" + out.string() + "' holds a finished run; choose a new -out");
      const json config = detail::RunFiles::read_config_at(out);
      run_context.seed = config.at("resolved").at("seed").get<uint64_t>();
      plan_ = std::make_unique<TrainPlan>(plan_from_config(config, given_, (out / "config.json").string(), run_context));
      plan_->options.data.out = out.string();
      const std::string differences = describe_differences(config.at("options"), given_);
      if (!differences.empty()) context_.log->warn("resuming with the run's saved options; differences: {}", differences);
      resuming_ = true;
      result_.resumed = true;
      book_.restore(state_.trainer);
    } else {
      if (given_.checkpoints.resume) throw_option("resume", "needs a state.pt in '" + out.string() + "' to resume from");
      TrainOptions options = given_;
      options.data.out = out.string();
      plan_ = std::make_unique<TrainPlan>(make_plan(options, run_context));
      if (!given_.data.force) detail::RunFiles::refuse_foreign_folder(out);
    }
    session_ = std::make_unique<detail::Session>(*plan_, run_context, resuming_);
    files_ = std::make_unique<detail::RunFiles>(out);
    // Two trainings in one folder would interleave their checkpoints and metrics.
    lock_.emplace(files_->dir(), "the run folder");
    result_.run_dir = files_->dir();
    result_.best_model = files_->path("best.safetensors");
    result_.last_model = files_->path("last.safetensors");
  }

  void finish_run() {
    auto& s = *session_;
    const auto& p = plan_->options.phases;
    result_.best = book_.best_line;
    result_.last = book_.history.empty() ? json() : book_.history.back();
    if (book_.best_line.is_object() && book_.best_line.value("phase", "") == "head" && p.epochs > 0 && p.head_epochs > 0)
      s.log().warn("phase 2 never beat phase 1 on {}: best.safetensors is the phase-1 model (new head, backbone as "
                   "loaded)",
                   monitor_key(plan_->monitor()));
    if (fs::exists(result_.best_model)) store_threshold();
    if (plan_->has_test && fs::exists(result_.best_model)) {
      result_.test = s.test(result_.best_model, files_->dir());
      json line = result_.test;
      line["phase"] = "test";
      files_->append_metrics(line);
      files_->add_scalars(line, static_cast<int64_t>(book_.history.size()));
      auto metadata = models::read_model_metadata(result_.best_model);
      metadata.training["test"] = result_.test;
      models::update_model_metadata(result_.best_model, metadata);
    }
    result_.seconds = seconds_since(start_);
  }

  // Chooses the decision threshold on the validation split and stores it in best.safetensors.
  void store_threshold() {
    auto& s = *session_;
    auto metadata = models::read_model_metadata(result_.best_model);
    if (metadata.threshold) return;  // already chosen (a resumed run that finished its epochs)
    const auto point = s.choose_threshold(result_.best_model);
    if (!point) return;
    const std::string& rule = plan_->options.checkpoints.choose_threshold;
    metadata.threshold = point->threshold;
    metadata.training["threshold"] = {
        {"criterion", rule}, {"split", "valid"}, {"precision", point->precision}, {"recall", point->recall}, {"f1", point->f1}};
    models::update_model_metadata(result_.best_model, metadata);
    result_.threshold = metadata.training["threshold"];
    result_.threshold["threshold"] = point->threshold;
    json line = result_.threshold;
    line["phase"] = "threshold";
    files_->append_metrics(line);
    s.log().info("decision threshold {:.4f} for '{}' chosen on the validation split (-choose-threshold={}): precision "
                 "{:.4f}, recall {:.4f}, F1 {:.4f}; stored in {}",
                 point->threshold, plan_->classes.at(1), rule, point->precision, point->recall, point->f1,
                 result_.best_model.string());
  }

  TrainOptions given_;
  Context context_;
  std::unique_ptr<TrainPlan> plan_;
  std::unique_ptr<detail::RunFiles> files_;
  std::optional<FileLock> lock_;
  std::unique_ptr<detail::Session> session_;
  bool resuming_ = false;
  TrainState state_;
  detail::RunBook book_;
  TrainResult result_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

TrainResult train(const TrainOptions& options, const Context& context) { return Trainer(options, context).run(); }

}  // namespace satx::train
