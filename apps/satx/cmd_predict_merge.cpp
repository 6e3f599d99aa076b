// satx predict-merge: one output from the outputs of sharded predict runs.
#include <iostream>

#include "cli.hpp"
#include "satx/predict/merge.hpp"

namespace satx::cli {
namespace {

struct MergeCliOptions {
  std::string output;
  std::string format;
  std::vector<std::string> inputs;
};

int run_merge(const MergeCliOptions& o) {
  std::optional<io::OutputFormat> format;
  if (!o.format.empty()) format = io::parse_output_format(o.format);
  std::vector<std::filesystem::path> inputs(o.inputs.begin(), o.inputs.end());
  const predict::MergeSummary summary = predict::merge_outputs(inputs, o.output, format);
  std::cerr << "merged " << summary.records << " rows from " << summary.files << " files into " << o.output;
  if (summary.errors) std::cerr << " (" << summary.errors << " unreadable tiles in " << o.output << ".errors)";
  std::cerr << "\n";
  return 0;
}

}  // namespace

void setup_predict_merge(CLI::App& command, Run& run) {
  auto options = std::make_shared<MergeCliOptions>();
  command.add_option("--output,-o", options->output, "Merged output file (format from its extension)")->required();
  command.add_option("--format", options->format, "csv, jsonl or geojson, when the extension does not say");
  command.add_option("inputs", options->inputs, "Shard outputs to concatenate (every tile must appear once)")->required();
  command.footer("Example: satx predict-merge -output=all.csv shard-*.csv\n"
                 "Error logs (<shard>.errors) are concatenated into <output>.errors.");
  run = [options] { return run_merge(*options); };
}

}  // namespace satx::cli
