// The evaluation side of the HTML report: from eval::evaluate's result, or from a per-tile CSV
// a run already wrote (so `satx report` needs no second pass over the test tiles).
#include <algorithm>
#include <cstdlib>
#include <map>

#include "satx/core/error.hpp"
#include "satx/eval/html_report.hpp"
#include "satx/io/prediction_reader.hpp"

namespace fs = std::filesystem;

namespace satx::eval {

namespace {

bool more_confident(const ScoredTile& a, const ScoredTile& b) {
  return a.score != b.score ? a.score > b.score : a.path < b.path;
}
bool less_confident(const ScoredTile& a, const ScoredTile& b) {
  return a.score != b.score ? a.score < b.score : a.path < b.path;
}

// The `keep` first tiles under `before`, sorted; the rest dropped.
template <typename Order>
void keep_first(std::vector<ScoredTile>& tiles, size_t keep, Order before) {
  const size_t kept = std::min(keep, tiles.size());
  std::partial_sort(tiles.begin(), tiles.begin() + static_cast<std::ptrdiff_t>(kept), tiles.end(), before);
  tiles.resize(kept);
}

float parse_probability(const std::string& text, const fs::path& csv, int64_t line) {
  char* end = nullptr;
  const float value = std::strtof(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    throw_bad_data("reading " + csv.string() + ": line " + std::to_string(line) + ": '" + text + "' is not a probability");
  return value;
}

// Rows are scored in blocks so the accumulator sees tensors, as in eval::evaluate.
constexpr int64_t kBlock = 4096;

}  // namespace

ReportEvaluation report_evaluation(const EvalResult& result, std::string data, size_t keep) {
  ReportEvaluation evaluation;
  evaluation.report = result.report;
  evaluation.data = std::move(data);
  evaluation.errors = result.misclassified;
  keep_first(evaluation.errors, keep, more_confident);
  evaluation.least_confident = result.least_confident;
  keep_first(evaluation.least_confident, keep, less_confident);
  evaluation.positive_scores = result.positive_scores;
  evaluation.positive_labels = result.positive_labels;
  evaluation.seconds = result.seconds;
  return evaluation;
}

ReportEvaluation read_predictions_csv(const fs::path& csv, const std::vector<std::string>& classes,
                                      std::optional<double> threshold, size_t keep) {
  const auto class_count = static_cast<int64_t>(classes.size());
  std::map<std::string, int64_t> index;
  for (size_t c = 0; c < classes.size(); ++c) index[classes[c]] = static_cast<int64_t>(c);
  MetricsAccumulator metrics(classes, resolve_topk(-1, classes.size()), threshold);
  ReportEvaluation evaluation;
  evaluation.data = csv.string();

  std::vector<float> probabilities;
  std::vector<int64_t> truth, predicted;
  const auto flush = [&] {
    if (truth.empty()) return;
    const auto n = static_cast<int64_t>(truth.size());
    metrics.add(torch::from_blob(probabilities.data(), {n, class_count}, torch::kFloat),
                torch::from_blob(truth.data(), {n}, torch::kLong), torch::from_blob(predicted.data(), {n}, torch::kLong));
    probabilities.clear();
    truth.clear();
    predicted.clear();
  };
  const auto label_of = [&](const std::string& name, int64_t line) {
    const auto it = index.find(name);
    if (it == index.end())
      throw_bad_data("reading " + csv.string() + ": line " + std::to_string(line) + ": '" + name +
                     "' is not one of the model's classes");
    return it->second;
  };
  int64_t line = 0;
  io::read_csv_rows(csv, [&](std::vector<std::string>& fields) {
    ++line;
    if (line == 1) {
      std::vector<std::string> expected = {"path", "true_label", "predicted_label", "score"};
      expected.insert(expected.end(), classes.begin(), classes.end());
      if (fields != expected)
        throw_bad_data("reading " + csv.string() + ": its header is not path,true_label,predicted_label,score followed "
                       "by the model's classes in order");
      return;
    }
    if (fields.size() != classes.size() + 4)
      throw_bad_data("reading " + csv.string() + ": line " + std::to_string(line) + " has " +
                     std::to_string(fields.size()) + " fields, expected " + std::to_string(classes.size() + 4));
    ScoredTile tile;
    tile.path = fields[0];
    tile.truth = label_of(fields[1], line);
    tile.predicted = label_of(fields[2], line);
    for (int64_t c = 0; c < class_count; ++c)
      probabilities.push_back(parse_probability(fields[static_cast<size_t>(4 + c)], csv, line));
    const float* row = probabilities.data() + probabilities.size() - static_cast<size_t>(class_count);
    tile.score = row[tile.predicted];
    tile.truth_score = row[tile.truth];
    truth.push_back(tile.truth);
    predicted.push_back(tile.predicted);
    // Trimmed as the file is read, so a huge file holds at most 2 x keep tiles per list.
    auto& list = tile.truth == tile.predicted ? evaluation.least_confident : evaluation.errors;
    list.push_back(std::move(tile));
    if (list.size() >= 2 * std::max<size_t>(keep, 1)) {
      if (&list == &evaluation.errors)
        keep_first(list, keep, more_confident);
      else
        keep_first(list, keep, less_confident);
    }
    if (static_cast<int64_t>(truth.size()) == kBlock) flush();
  });
  if (line == 0) throw_bad_data("reading " + csv.string() + ": the file is empty");
  flush();
  keep_first(evaluation.errors, keep, more_confident);
  keep_first(evaluation.least_confident, keep, less_confident);
  evaluation.report = metrics.report();
  evaluation.positive_scores = metrics.positive_scores();
  evaluation.positive_labels = metrics.positive_labels();
  return evaluation;
}

}  // namespace satx::eval
