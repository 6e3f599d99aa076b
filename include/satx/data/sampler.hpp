#pragma once
/// The order in which a training epoch visits its tiles: a plain shuffle, or class-balanced
/// batches for rare classes (a school in 3% of the tiles must appear in every batch).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace satx::data {

/// How training batches are drawn.
enum class Sampler {
  Shuffle,   ///< every tile once per epoch, in a seeded random order
  Balanced,  ///< every batch holds each class in equal share (rare classes oversampled)
};

/// "shuffle" or "balanced"; a Usage error naming `flag` and the choices otherwise.
Sampler parse_sampler(const std::string& text, const std::string& flag = "-sampler");
const char* sampler_name(Sampler sampler);

/// One epoch of class-balanced batches over tiles with `labels` (negative labels are never
/// drawn): `batches` batches of `batch_size` positions, where each class present gets
/// batch_size / k places per batch (the remainder rotating over the classes from batch to batch).
/// Each class is drawn without replacement, cycling through a fresh seeded permutation of
/// its tiles whenever it runs out, so a rare class repeats only after all its tiles were seen
/// and the common ones are covered as evenly as the batches allow. Positions within a batch
/// are shuffled. Deterministic in (seed, epoch).
std::vector<size_t> balanced_order(const std::vector<int64_t>& labels, size_t batch_size, size_t batches, uint64_t seed,
                                   int epoch);

}  // namespace satx::data
