// libFuzzer target: a predict input list as a script or a hostile file presents it. The first
// line is also tried as a -shard spec and as SLURM/PBS-style environment values; every listed
// path goes through what predict does with a name before reading it (tile coordinates from the
// name, the CSV and JSON spellings of the path). Invariants, trapped when broken: the shards of
// a list partition it, and a CSV field or JSON string of a path reads back to the same bytes
// (JSON: after invalid UTF-8 is replaced).
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "satx/core/error.hpp"
#include "satx/io/georef.hpp"
#include "satx/io/prediction_format.hpp"
#include "satx/predict/inputs.hpp"
#include "satx/predict/shard.hpp"

namespace {

// Reads one RFC 4180 field back (the whole string is one field).
std::string unquote_csv(const std::string& field) {
  if (field.empty() || field.front() != '"') return field;
  std::string out;
  for (size_t i = 1; i + 1 < field.size(); ++i) {
    out += field[i];
    if (field[i] == '"') ++i;  // "" stands for one quote
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream list(text);
  std::vector<std::string> paths;
  try {
    paths = satx::predict::collect_inputs("-", list);
  } catch (const satx::Error&) {
    return 0;
  }
  for (const auto& path : paths) {
    (void)satx::io::parse_tile_path(path);
    if (unquote_csv(satx::io::csv_field(path)) != path) __builtin_trap();
    const std::string written = satx::io::path_as_written(path, satx::io::OutputFormat::Jsonl);
    if (nlohmann::json::parse(satx::io::json_string(path)).get<std::string>() != written) __builtin_trap();
  }

  const std::string first = text.substr(0, text.find('\n'));
  std::vector<satx::predict::ShardSpec> shards;
  try {
    shards.push_back(satx::predict::parse_shard(first));
  } catch (const satx::Error&) {
  }
  // "ID COUNT MIN" on the first line become the SLURM array variables.
  std::istringstream words(first);
  std::string id, count, min;
  words >> id >> count >> min;
  std::map<std::string, std::string> environment = {{"SLURM_ARRAY_TASK_ID", id}, {"SLURM_ARRAY_TASK_COUNT", count}};
  if (!min.empty()) environment["SLURM_ARRAY_TASK_MIN"] = min;
  try {
    auto spec = satx::predict::shard_from_environment([&](const std::string& name) -> std::optional<std::string> {
      auto it = environment.find(name);
      return it == environment.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
    if (spec) shards.push_back(*spec);
  } catch (const satx::Error&) {
  }
  for (const auto& shard : shards) {
    if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count) __builtin_trap();
    if (shard.count > 64) continue;  // the partition check below walks every shard
    size_t total = 0;
    for (int64_t k = 0; k < shard.count; ++k) total += satx::predict::select_shard(paths, {k, shard.count, ""}).size();
    if (total != paths.size()) __builtin_trap();
  }
  return 0;
}
