#include "satx/eval/run_record.hpp"

#include <chrono>
#include <cmath>
#include <sstream>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/io/prediction_reader.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace satx::eval {

namespace {

double number(const json& line, const char* key) {
  const auto it = line.find(key);
  return it != line.end() && it->is_number() ? it->get<double>() : std::nan("");
}

int integer(const json& line, const char* key, int fallback) {
  const auto it = line.find(key);
  return it != line.end() && it->is_number() ? it->get<int>() : fallback;
}

// Optional files: a run killed early, or an older satx, lacks some of them.
json read_json_file(const fs::path& path, std::vector<std::string>& warnings) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return nullptr;
  json parsed = json::parse(read_file(path), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    warnings.push_back(path.string() + " is not a JSON object; left out of the report");
    return nullptr;
  }
  return parsed;
}

fs::path canonical_or_empty(const fs::path& path) {
  std::error_code error;
  fs::path resolved = fs::canonical(path, error);
  return error ? fs::path() : resolved;
}

// The run `best` names, and which leaderboard row it is.
fs::path best_trial(const fs::path& tune, Leaderboard& board, std::vector<std::string>& warnings) {
  const size_t run_column = board.column("run");
  const fs::path linked = canonical_or_empty(tune / "best");
  for (size_t r = 0; r < board.rows.size() && !linked.empty(); ++r) {
    if (run_column < board.rows[r].size() && canonical_or_empty(tune / board.rows[r][run_column]) == linked) {
      board.best_row = r;
      return linked;
    }
  }
  if (!linked.empty()) return linked;  // a link the table does not list: still the best run
  if (board.rows.empty() || run_column >= board.rows.front().size() || board.rows.front()[run_column].empty())
    throw_bad_data("reading tuning folder " + tune.string() + ": it has no best/ link and no trial in leaderboard.csv " +
                   "names a run folder (has a trial finished?)");
  warnings.push_back(tune.string() + " has no best/ link; reporting on the first leaderboard row's run");
  board.best_row = 0;
  return tune / board.rows.front()[run_column];
}

}  // namespace

size_t Leaderboard::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  return std::string::npos;
}

int parse_metrics_lines(const std::string& text, std::vector<EpochRecord>& epochs, json& test) {
  std::istringstream in(text);
  std::string line_text;
  int skipped = 0;
  while (std::getline(in, line_text)) {
    if (line_text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json line = json::parse(line_text, nullptr, false);
    if (line.is_discarded() || !line.is_object()) {
      ++skipped;  // a torn last line of a killed run, or a hand edit
      continue;
    }
    const std::string phase = line.value("phase", "");
    if (phase == "test") {
      test = line;
      continue;
    }
    if (!line.contains("epoch") || !line.contains("train_loss")) continue;  // "threshold" and other events
    EpochRecord e;
    e.phase = phase;
    e.epoch = integer(line, "epoch", 0);
    e.epochs = integer(line, "epochs", 0);
    e.global_epoch = integer(line, "global_epoch", static_cast<int>(epochs.size()) + 1);
    e.lr = number(line, "lr");
    e.train_loss = number(line, "train_loss");
    e.train_accuracy = number(line, "train_accuracy");
    e.val_loss = number(line, "val_loss");
    e.val_accuracy = number(line, "val_accuracy");
    e.val_macro_f1 = number(line, "val_macro_f1");
    e.val_ap = number(line, "val_ap");
    e.seconds = number(line, "seconds");
    e.improved = line.value("improved", false);
    if (line.contains("collapse") && line["collapse"].is_string()) e.collapse = line["collapse"].get<std::string>();
    epochs.push_back(std::move(e));
  }
  return skipped;
}

Leaderboard read_leaderboard(const fs::path& csv) {
  Leaderboard board;
  io::read_csv_rows(csv, [&](std::vector<std::string>& fields) {
    if (board.header.empty())
      board.header = std::move(fields);
    else if (!(fields.size() == 1 && fields[0].empty()))  // a blank line
      board.rows.push_back(std::move(fields));
  });
  if (board.header.empty()) throw_bad_data("reading " + csv.string() + ": the leaderboard is empty (no header row)");
  for (const char* required : {"rank", "run"})
    if (board.column(required) == std::string::npos)
      throw_bad_data("reading " + csv.string() + ": the leaderboard has no '" + required + "' column (header: " +
                     [&] {
                       std::string text;
                       for (const auto& name : board.header) text += (text.empty() ? "" : ",") + name;
                       return text;
                     }() + ")");
  return board;
}

RunRecord read_run_folder(const fs::path& folder) {
  std::error_code error;
  if (!fs::is_directory(folder, error))
    throw_bad_data("reading run folder " + folder.string() + ": " + (fs::exists(folder, error) ? "not a folder" : "no such folder"));
  RunRecord record;
  record.folder = folder;
  if (fs::is_regular_file(folder / "leaderboard.csv", error)) {
    record.tune_folder = folder;
    record.leaderboard = read_leaderboard(folder / "leaderboard.csv");
    record.folder = best_trial(folder, *record.leaderboard, record.warnings);
    if (!fs::is_directory(record.folder, error))
      throw_bad_data("reading tuning folder " + folder.string() + ": the best trial's run " + record.folder.string() +
                     " is not a folder");
  }
  const fs::path& run = record.folder;

  if (fs::is_regular_file(run / "metrics.jsonl", error)) {
    const int skipped = parse_metrics_lines(read_file(run / "metrics.jsonl"), record.epochs, record.test);
    if (skipped > 0)
      record.warnings.push_back((run / "metrics.jsonl").string() + ": " + std::to_string(skipped) +
                                " line(s) are not JSON objects and were left out");
  }
  record.config = read_json_file(run / "config.json", record.warnings);
  record.test_metrics = read_json_file(run / "test-metrics.json", record.warnings);
  if (fs::is_regular_file(run / "best.safetensors", error)) {
    record.model_path = run / "best.safetensors";
    record.model = models::read_model_metadata(record.model_path);
  }
  if (fs::is_regular_file(run / "test-predictions.csv", error)) record.predictions = run / "test-predictions.csv";
  const auto first = fs::last_write_time(run / "config.json", error);
  const auto last = error ? first : fs::last_write_time(run / "metrics.jsonl", error);
  if (!error && last >= first) record.run_seconds = std::chrono::duration<double>(last - first).count();
  if (!fs::is_regular_file(run / "metrics.jsonl", error) && record.config.is_null() && !record.model)
    throw_bad_data("reading run folder " + run.string() +
                   ": not a satx run (it has no metrics.jsonl, config.json or best.safetensors)");
  return record;
}

}  // namespace satx::eval
