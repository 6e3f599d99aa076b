#pragma once
/// `satx predict-merge`: one output from the outputs of sharded predict runs.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "satx/io/prediction_format.hpp"

namespace satx::predict {

/// What a merge wrote.
struct MergeSummary {
  int64_t files = 0;
  int64_t records = 0;
  int64_t errors = 0;  ///< error-log lines merged into `<output>.errors`
  io::OutputFormat format = io::OutputFormat::Csv;
};

/// Concatenates `inputs` (all in one format: `format`, else the output's extension) into
/// `output`, written atomically: one CSV header (the inputs' headers must agree), or one
/// GeoJSON FeatureCollection. Their `.errors` logs are concatenated into `<output>.errors`.
/// BadData naming the file when a tile appears twice (across or within inputs), headers
/// differ, or an input ends in a torn record or lacks its GeoJSON closing line (a run that
/// did not finish: complete it with -resume first).
MergeSummary merge_outputs(const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& output,
                           std::optional<io::OutputFormat> format = std::nullopt);

}  // namespace satx::predict
