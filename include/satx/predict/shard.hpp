#pragma once
/// Splitting an input list across independent predict runs (array jobs).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace satx::predict {

/// Shard `index` of `count` (0 <= index < count); count 1 is "everything".
struct ShardSpec {
  int64_t index = 0;
  int64_t count = 1;
  /// Where the spec came from ("-shard", "SLURM_ARRAY_TASK_ID", ...), for logs.
  std::string source;
};

/// Parses "K/N"; a Usage error naming `text` when malformed or K is not in [0, N).
ShardSpec parse_shard(const std::string& text);

/// Reads an environment variable (injectable for tests); nullopt when unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
EnvironmentLookup process_environment();

/// The shard a scheduler assigned, when any:
///  - SLURM array jobs: K = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN (MIN defaults to 0),
///    N = SLURM_ARRAY_TASK_COUNT;
///  - Kubernetes indexed Jobs: K = JOB_COMPLETION_INDEX, N = SATX_SHARD_COUNT.
/// nullopt when neither pair is set; a Usage error naming the variables when they are set but
/// inconsistent (non-numeric, K outside [0, N)).
std::optional<ShardSpec> shard_from_environment(const EnvironmentLookup& lookup);

/// A stable 64-bit hash of a path's bytes (FNV-1a followed by a 64-bit finalizer), the same
/// on every machine and run, so a shard's membership never changes under resume.
uint64_t path_hash(const std::string& path);

/// Whether `path` belongs to `shard` (path_hash(path) % count == index).
bool in_shard(const std::string& path, const ShardSpec& shard);

/// The paths of `paths` that belong to `shard`, in their original order.
std::vector<std::string> select_shard(const std::vector<std::string>& paths, const ShardSpec& shard);

}  // namespace satx::predict
