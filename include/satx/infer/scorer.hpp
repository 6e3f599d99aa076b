#pragma once
/// The scoring pipeline: decode on worker threads (TileLoader, batches prefetched while the
/// previous batch runs) -> InferenceEngine -> a callback per batch, in input order.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "satx/core/context.hpp"
#include "satx/data/loader.hpp"
#include "satx/infer/engine.hpp"

namespace satx::infer {

/// How the pipeline runs.
struct ScorerOptions {
  /// Tiles per forward pass.
  int batch_size = 128;
  /// Decoding threads; 0 picks a share of the context's threads that leaves the rest to
  /// compute (on CPU) or all of them (on CUDA, where the GPU computes).
  int decode_threads = 0;
  /// Batches decoded ahead of the network.
  int prefetch = 2;
  /// A bad tile throws BadData instead of being reported and skipped.
  bool strict = false;
};

/// One scored batch.
struct ScoredBatch {
  /// Positions in the input list of the tiles scored, row by row.
  std::vector<size_t> indices;
  /// float32 CPU [n, classes].
  torch::Tensor probabilities;
  /// int64 [n], the labels given with the inputs (-1 when none).
  torch::Tensor labels;
  /// Tiles of this batch that could not be decoded.
  std::vector<data::BadFile> failed;
};

/// Usage errors naming the field for values outside their ranges (batch 1..65536,
/// decode_threads 0..256, prefetch 0..64); callers run it before any output is touched.
void check_scorer_options(const ScorerOptions& options);

/// The decode threads `options` asks for on `context` (resolving 0).
int resolve_decode_threads(const ScorerOptions& options, const Context& context);

/// Scores `paths` (with `labels`, or empty) batch by batch, calling `on_batch` in input order.
/// The engine runs on the context's device. Decoding runs ahead of the network on its own
/// threads; tiles that fail to decode come back in ScoredBatch::failed (BadData when strict).
void score_tiles(InferenceEngine& engine, const std::vector<std::string>& paths, const std::vector<int64_t>& labels,
                 const ScorerOptions& options, const Context& context,
                 const std::function<void(const ScoredBatch&)>& on_batch);

}  // namespace satx::infer
