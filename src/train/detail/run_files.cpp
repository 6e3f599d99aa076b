#include "train/detail/run_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"

namespace fs = std::filesystem;

namespace satx::train::detail {

RunFiles::RunFiles(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw_runtime("creating run directory " + dir_.string() + ": " + ec.message());
}

void RunFiles::write_config(const nlohmann::json& config) const {
  write_file_atomic(path("config.json"), config.dump(2) + "\n");
}

nlohmann::json RunFiles::read_config_at(const std::filesystem::path& dir) {
  const auto file = dir / "config.json";
  try {
    return nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw_bad_data("reading " + file.string() + ": " + e.what());
  }
}

void RunFiles::refuse_foreign_folder(const fs::path& dir) {
  std::error_code error;
  if (!fs::exists(dir, error)) return;
  if (!fs::is_directory(dir, error)) throw_option("out", "'" + dir.string() + "' is a file, not a folder");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, error)) names.push_back(entry.path().filename().string());
  if (error) throw_option("out", "'" + dir.string() + "' cannot be listed: " + error.message());
  if (names.empty()) return;
  const auto config = dir / "config.json";
  if (fs::is_regular_file(config, error)) {
    const auto parsed = nlohmann::json::parse(read_file(config), nullptr, false);
    if (parsed.is_object() && parsed.contains("options") && parsed.contains("resolved")) return;
  }
  std::sort(names.begin(), names.end());
  std::string listed;
  for (size_t i = 0; i < names.size() && i < 3; ++i) listed += (i ? ", " : "") + names[i];
  if (names.size() > 3) listed += ", ...";
  throw_option("out", "'" + dir.string() + "' already holds files that are not a satx run's (" + listed +
                          "); choose a new -out, or pass -force to write into it");
}

void RunFiles::write_classes(const std::vector<std::string>& classes) const {
  std::string text;
  for (const auto& name : classes) text += name + "\n";
  write_file_atomic(path("classes.txt"), text);
}

void RunFiles::rewrite_metrics(const std::vector<nlohmann::json>& lines) const {
  std::string text;
  for (const auto& line : lines) text += line.dump() + "\n";
  write_file_atomic(path("metrics.jsonl"), text);
}

void RunFiles::append_metrics(const nlohmann::json& line) const {
  append_file_synced(path("metrics.jsonl"), line.dump() + "\n");
}

void RunFiles::add_scalars(const nlohmann::json& line, int64_t step) {
  if (!events_) events_ = std::make_unique<EventWriter>(dir_);
  const std::string phase = line.value("phase", "run");
  for (const auto& [key, value] : line.items()) {
    if (!value.is_number() || key == "epoch" || key == "epochs" || key == "global_epoch") continue;
    events_->add_scalar(phase + "/" + key, value.get<double>(), step);
  }
  events_->flush();
}

}  // namespace satx::train::detail
