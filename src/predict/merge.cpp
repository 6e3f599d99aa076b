#include "satx/predict/merge.hpp"

#include <unordered_map>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/io/prediction_reader.hpp"

namespace fs = std::filesystem;

namespace satx::predict {

namespace {

// A first pass: every input must be complete and, for CSV, share the first one's header.
std::string check_inputs(const std::vector<fs::path>& inputs, const fs::path& output, io::OutputFormat format) {
  std::string header;
  for (const auto& input : inputs) {
    if (!fs::exists(input)) throw_usage("predict-merge: input " + input.string() + " does not exist");
    if (fs::exists(output) && fs::equivalent(input, output))
      throw_usage("predict-merge: the output " + output.string() + " is also an input");
    const io::OutputScan scan = io::scan_output(input, format, {});
    const bool complete = format == io::OutputFormat::GeoJson ? scan.closed : scan.valid_bytes == scan.file_bytes;
    if (!complete || (format == io::OutputFormat::Csv && scan.header.empty()))
      throw_bad_data("predict-merge: " + input.string() + " is incomplete (" +
                     (format == io::OutputFormat::GeoJson ? "no closing line" : "a torn last record") +
                     "): its run did not finish; complete it with 'satx predict ... -resume' first");
    if (format != io::OutputFormat::Csv) continue;
    if (header.empty()) header = scan.header;
    if (scan.header != header)
      throw_bad_data("predict-merge: " + input.string() + " has other columns than " + inputs.front().string() +
                     " (another model or -topk?)\n  " + inputs.front().string() + ": " + header + "  " +
                     input.string() + ": " + scan.header);
  }
  return header;
}

}  // namespace

MergeSummary merge_outputs(const std::vector<fs::path>& inputs, const fs::path& output, std::optional<io::OutputFormat> format) {
  if (inputs.empty()) throw_usage("predict-merge needs at least one input file");
  MergeSummary summary;
  summary.format = format ? *format : io::format_from_path(output.string());
  const std::string header = check_inputs(inputs, output, summary.format);

  AtomicFile merged(output);
  merged.write(summary.format == io::OutputFormat::GeoJson ? std::string(io::kGeoJsonHeader) : header);
  std::unordered_map<std::string, size_t> seen;  // tile path -> input holding it
  for (size_t i = 0; i < inputs.size(); ++i) {
    io::scan_output(inputs[i], summary.format, [&](io::StoredRecord&& record) {
      auto [it, inserted] = seen.emplace(record.path, i);
      if (!inserted)
        throw_bad_data("predict-merge: tile " + record.path + " appears " +
                       (it->second == i ? "twice in " + inputs[i].string()
                                        : "in " + inputs[it->second].string() + " and in " + inputs[i].string()) +
                       "; shards must not overlap");
      if (summary.format == io::OutputFormat::GeoJson && summary.records > 0) merged.write(",");
      merged.write(record.text);
      ++summary.records;
    });
    ++summary.files;
  }
  if (summary.format == io::OutputFormat::GeoJson) merged.write(std::string(io::kGeoJsonTrailer));

  std::string error_lines;
  for (const auto& input : inputs)
    io::scan_error_log(io::error_log_path(input), [&](io::ErrorEntry&& entry) {
      error_lines += io::format_error_line(entry);
      ++summary.errors;
    });
  merged.commit();
  const fs::path merged_errors = io::error_log_path(output);
  if (summary.errors > 0) {
    write_file_atomic(merged_errors, error_lines);
  } else {
    std::error_code ignored;
    fs::remove(merged_errors, ignored);
  }
  return summary;
}

}  // namespace satx::predict
