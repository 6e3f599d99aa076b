#include "satx/predict/shard.hpp"

#include <cstdlib>

#include "satx/core/error.hpp"

namespace satx::predict {

namespace {

std::optional<int64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

ShardSpec checked_spec(std::optional<int64_t> index, std::optional<int64_t> count, const std::string& what,
                       const std::string& source) {
  if (!index || !count || *count < 1 || *index >= *count)
    throw_usage("invalid shard " + what + ": expected K/N with 0 <= K < N (e.g. -shard=0/4)");
  return ShardSpec{*index, *count, source};
}

}  // namespace

ShardSpec parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos) throw_usage("invalid -shard '" + text + "': expected K/N with 0 <= K < N (e.g. -shard=0/4)");
  return checked_spec(parse_count(text.substr(0, slash)), parse_count(text.substr(slash + 1)), "-shard '" + text + "'",
                      "-shard");
}

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

std::optional<ShardSpec> shard_from_environment(const EnvironmentLookup& lookup) {
  auto slurm_id = lookup("SLURM_ARRAY_TASK_ID");
  auto slurm_count = lookup("SLURM_ARRAY_TASK_COUNT");
  if (slurm_id && slurm_count) {
    auto id = parse_count(*slurm_id);
    int64_t minimum = 0;
    if (auto min_text = lookup("SLURM_ARRAY_TASK_MIN")) {
      auto parsed = parse_count(*min_text);
      if (!parsed) throw_usage("invalid SLURM_ARRAY_TASK_MIN='" + *min_text + "'");
      minimum = *parsed;
    }
    std::optional<int64_t> index;
    if (id && *id >= minimum) index = *id - minimum;
    return checked_spec(index, parse_count(*slurm_count),
                        "from SLURM_ARRAY_TASK_ID=" + *slurm_id + ", SLURM_ARRAY_TASK_COUNT=" + *slurm_count +
                            " (K = ID - SLURM_ARRAY_TASK_MIN; arrays must be contiguous, e.g. --array=0-7)",
                        "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT");
  }
  auto job_index = lookup("JOB_COMPLETION_INDEX");
  auto shard_count = lookup("SATX_SHARD_COUNT");
  if (job_index && shard_count)
    return checked_spec(parse_count(*job_index), parse_count(*shard_count),
                        "from JOB_COMPLETION_INDEX=" + *job_index + ", SATX_SHARD_COUNT=" + *shard_count,
                        "JOB_COMPLETION_INDEX/SATX_SHARD_COUNT");
  return std::nullopt;
}

uint64_t path_hash(const std::string& path) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : path) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  // FNV-1a alone leaves low bits poorly mixed for similar strings; the modulo reads them.
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdULL;
  hash ^= hash >> 33;
  hash *= 0xc4ceb9fe1a85ec53ULL;
  hash ^= hash >> 33;
  return hash;
}

bool in_shard(const std::string& path, const ShardSpec& shard) {
  return shard.count <= 1 || static_cast<int64_t>(path_hash(path) % static_cast<uint64_t>(shard.count)) == shard.index;
}

std::vector<std::string> select_shard(const std::vector<std::string>& paths, const ShardSpec& shard) {
  if (shard.count <= 1) return paths;
  std::vector<std::string> kept;
  kept.reserve(paths.size() / static_cast<size_t>(shard.count) + 16);
  for (const auto& path : paths)
    if (in_shard(path, shard)) kept.push_back(path);
  return kept;
}

}  // namespace satx::predict
