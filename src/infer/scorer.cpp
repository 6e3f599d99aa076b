#include "satx/infer/scorer.hpp"

#include <algorithm>

#include <torch/torch.h>

#include "satx/core/error.hpp"

namespace satx::infer {

int resolve_decode_threads(const ScorerOptions& options, const Context& context) {
  if (options.decode_threads > 0) return options.decode_threads;
  if (context.device.is_cuda()) return std::max(1, context.threads);
  // On CPU the network needs the cores far more than decoding small tiles does (a 64 px JPEG
  // decodes ~20x faster than MobileNetV2 scores it), so decoding gets one thread in four.
  return std::max(1, context.threads / 4);
}

void check_scorer_options(const ScorerOptions& options) {
  if (options.batch_size < 1 || options.batch_size > 65536)
    throw_option("batch", "must be in [1, 65536], got " + std::to_string(options.batch_size));
  // More decoding threads than a machine has cores only costs: 100,000 of them took minutes to start.
  if (options.decode_threads < 0 || options.decode_threads > 256)
    throw_option("decode_threads", "must be in [0, 256] (0 = automatic), got " + std::to_string(options.decode_threads));
  if (options.prefetch < 0 || options.prefetch > 64)
    throw_option("prefetch", "must be in [0, 64], got " + std::to_string(options.prefetch));
}

void score_tiles(InferenceEngine& engine, const std::vector<std::string>& paths, const std::vector<int64_t>& labels,
                 const ScorerOptions& options, const Context& context,
                 const std::function<void(const ScoredBatch&)>& on_batch) {
  check_scorer_options(options);
  if (paths.empty()) return;
  const auto& metadata = engine.metadata();

  data::LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.channels = metadata.in_channels;
  // Big tiles are shrunk on the CPU to the largest size scored, so no TTA size is upsampled from a smaller one.
  const auto& sizes = engine.input_sizes();
  loader_options.tile_size =
      data::loader_tile_size(data::probe_tile_side(paths, metadata.in_channels), *std::max_element(sizes.begin(), sizes.end()));
  loader_options.shuffle = false;
  loader_options.drop_last = false;
  loader_options.cache = data::CacheMode::Off;  // one pass: caching would only grow memory with the input count
  loader_options.strict = options.strict;
  loader_options.prefetch = std::max(1, options.prefetch);
  loader_options.pin_memory = context.device.is_cuda();

  Context decode_context = context;
  decode_context.threads = resolve_decode_threads(options, context);
  std::vector<int64_t> given_labels = labels.empty() ? std::vector<int64_t>(paths.size(), -1) : labels;
  data::TileLoader loader(paths, std::move(given_labels), loader_options, decode_context);
  loader.start_epoch(0);

  while (auto batch = loader.next()) {
    ScoredBatch scored;
    scored.indices = std::move(batch->indices);
    scored.failed = std::move(batch->failed);
    scored.labels = batch->labels;
    scored.probabilities = scored.indices.empty()
                               ? torch::zeros({0, static_cast<int64_t>(engine.metadata().classes.size())})
                               : engine.probabilities(batch->images);
    on_batch(scored);
  }
}

}  // namespace satx::infer
