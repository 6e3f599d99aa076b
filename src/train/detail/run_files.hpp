#pragma once
// The files of a run directory other than the model files: config.json, metrics.jsonl,
// classes.txt and the TensorBoard events, plus the model metadata the trainer writes.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "satx/train/tensorboard.hpp"

namespace satx::train::detail {

class RunFiles {
 public:
  explicit RunFiles(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path(const std::string& name) const { return dir_ / name; }

  void write_config(const nlohmann::json& config) const;
  nlohmann::json read_config() const { return read_config_at(dir_); }
  // config.json of the run directory `dir` (before a RunFiles exists); BadData naming the file.
  static nlohmann::json read_config_at(const std::filesystem::path& dir);
  // Usage error unless `dir` is missing, empty, or a satx run that stopped before its first
  // checkpoint (its config.json is satx's): training must not overwrite a folder of other files.
  static void refuse_foreign_folder(const std::filesystem::path& dir);
  void write_classes(const std::vector<std::string>& classes) const;

  // Replaces metrics.jsonl by `lines` (on resume, the history the state file vouches for).
  void rewrite_metrics(const std::vector<nlohmann::json>& lines) const;
  // Appends one line and flushes it to disk.
  void append_metrics(const nlohmann::json& line) const;

  // Scalars of a metrics line under "<phase>/<key>" at `step`; opens the event file lazily.
  void add_scalars(const nlohmann::json& line, int64_t step);

 private:
  std::filesystem::path dir_;
  std::unique_ptr<EventWriter> events_;
};

}  // namespace satx::train::detail
