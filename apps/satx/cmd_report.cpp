// satx report: one self-contained HTML page of a training run (a tuning folder: its best trial,
// with the leaderboard). The tiles come from -data, scored now, or the run's test-predictions.csv.
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "option_groups.hpp"
#include "progress.hpp"
#include "satx/core/error.hpp"
#include "satx/data/dataset.hpp"
#include "satx/eval/evaluator.hpp"
#include "satx/eval/html_report.hpp"
#include "satx/eval/run_record.hpp"
#include "satx/models/model_file.hpp"

namespace satx::cli {

namespace fs = std::filesystem;

namespace {

eval::ReportEvaluation evaluate_for_report(const fs::path& model_path, const std::string& data_folder,
                                           eval::EvalOptions options, const infer::EngineOptions& engine_options,
                                           size_t gallery, const Context& context, bool quiet) {
  models::LoadedModel model = models::load_model_file(model_path, context.device);
  data::Dataset dataset = data::discover_dataset(data_folder);
  for (const auto& warning : dataset.warnings) context.log->warn("{}", warning);
  data::relabel(dataset, model.metadata.classes);
  infer::InferenceEngine engine(std::move(model), context.device, engine_options);
  options.least_confident = gallery;
  context.log->info("scoring {} tiles of {} for the report", dataset.samples.size(), data_folder);
  Progress progress("report", static_cast<int64_t>(dataset.samples.size()), "tile", 1000, quiet);
  const eval::EvalResult result =
      eval::evaluate(engine, dataset, options, context, [&](int64_t done, int64_t) { progress.update(done); });
  progress.finish();
  if (!result.failed.empty())
    context.log->warn("{} tiles could not be read and were left out (listed above)", result.failed.size());
  return eval::report_evaluation(result, data_folder, gallery);
}

struct ReportCliOptions {
  std::string run;
  std::string data;
  std::string out;
  eval::HtmlReportOptions html;
  eval::EvalOptions eval;
  infer::EngineOptions engine;
};

int run_report(const ReportCliOptions& o, const CommonOptions& common) {
  const Context context = make_cli_context(common);
  eval::RunRecord run = eval::read_run_folder(o.run);
  for (const auto& warning : run.warnings) context.log->warn("{}", warning);
  if (!run.tune_folder.empty())
    context.log->info("{} is a tuning folder ({} trials); reporting on the best trial, {}", o.run,
                      run.leaderboard->rows.size(), run.folder.string());
  const fs::path out = o.out.empty() ? fs::path(o.run) / "report.html" : fs::path(o.out);

  eval::HtmlReportInput input;
  input.model_path = run.model_path.string();
  if (!o.data.empty()) {
    if (!run.model) throw_bad_data("-data is scored with the run's best.safetensors, and " + run.folder.string() + " has none");
    input.evaluation = evaluate_for_report(run.model_path, o.data, o.eval, o.engine, o.html.gallery, context, common.quiet);
  } else if (o.eval.threshold) {
    throw_usage("-threshold applies when -data is scored; the run's test-predictions.csv was decided at training time");
  } else if (run.model && !run.predictions.empty()) {
    input.evaluation = eval::read_predictions_csv(run.predictions, run.model->classes, run.model->threshold, o.html.gallery);
    const auto folder = run.test_metrics.is_object() ? run.test_metrics.find("data") : run.test_metrics.end();
    if (folder != run.test_metrics.end() && folder->is_string())
      input.evaluation->data = folder->get<std::string>() + " (" + run.predictions.string() + ")";
  } else {
    context.log->warn("{} has no test-predictions.csv (trained without -test?): the report has no confusion matrix, "
                      "per-class metrics or gallery; pass -data=FOLDER to score one",
                      run.folder.string());
  }
  input.run = std::move(run);
  const uint64_t bytes = eval::write_html_report(out, input, o.html);
  context.log->info("wrote {} ({:.1f} KB)", out.string(), bytes / 1024.0);
  std::cout << out.string() << "\n";
  return 0;
}

}  // namespace

void setup_report(CLI::App& command, Run& run) {
  auto options = std::make_shared<ReportCliOptions>();
  auto common = std::make_shared<CommonOptions>();
  auto& o = *options;
  command.footer("The page opens offline: CSS and SVG are inline, thumbnails are base64 JPEGs, and there is no script. "
                 "A folder with leaderboard.csv (satx tune) adds the leaderboard; the rest is about its best/ trial. "
                 "docs/eval.md describes every section.");
  command.add_option("--run,-r", o.run, "Run folder of satx train (or a satx tune folder)")->required()->group("Input");
  command.add_option("--data", o.data,
                     "Labelled folder to score with the run's best.safetensors (default: the run's test-predictions.csv)")
      ->group("Input");
  command.add_option("--out,-o", o.out, "HTML file to write (default: <run>/report.html)")->group("Output");
  bind_html_report_options(command, o.html, "Output");
  command.add_option("--leaderboard-rows", o.html.leaderboard_rows, "Tuning folders: leaderboard rows shown (best first)")
      ->group("Output");
  bind_threshold_option(command, o.eval.threshold);
  bind_engine_options(command, o.engine);
  bind_scorer_options(command, o.eval.scorer);
  add_common_options(command, *common);
  run = [options, common] { return run_report(*options, *common); };
}

}  // namespace satx::cli
