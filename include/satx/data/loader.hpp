#pragma once
/// Parallel decoding into uint8 NCHW batches, with an optional decoded-tile cache,
/// deterministic shuffling and prefetch.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "satx/core/context.hpp"
#include "satx/data/sampler.hpp"

namespace satx::data {

/// A tile that could not be read, and why.
struct BadFile {
  std::string path;
  std::string reason;
};

/// Writes `files` as an errors file in the format of predict's `.errors` (io::format_error_line:
/// one `path<TAB>reason` line each, backslash, tab, CR and LF escaped), written atomically. Throws Runtime naming `path`.
void write_bad_files(const std::string& path, const std::vector<BadFile>& files);

/// One batch. Tiles that failed to decode are left out of `images` and listed in `failed`
/// (a known-bad tile is listed again in later epochs, but decoded and logged only once).
/// `images` has 0 rows when every tile of the batch failed.
struct Batch {
  torch::Tensor images;        ///< uint8 [n, C, H, W] (pinned on CUDA runs)
  torch::Tensor labels;        ///< int64 [n]
  std::vector<size_t> indices; ///< positions of the n tiles in the loader's input list
  std::vector<BadFile> failed;
};

/// Whether decoded tiles are kept in RAM between epochs.
enum class CacheMode {
  Auto,  ///< when they fit LoaderOptions::cache_budget_bytes
  Ram,   ///< always
  Off,   ///< never: decode every epoch
};

/// "auto", "ram" or "off"; a Usage error naming `flag` otherwise.
CacheMode parse_cache_mode(const std::string& text, const std::string& flag = "-cache");
const char* cache_mode_name(CacheMode mode);

/// How the loader works.
struct LoaderOptions {
  int batch_size = 64;
  /// Square size every tile is brought to on the CPU (INTER_AREA); 0 = keep the decoded size
  /// (all tiles must then share the first readable tile's size; others count as bad).
  int tile_size = 0;
  /// Channels per tile, by the rules of io::DecodeOptions::channels.
  int channels = 3;
  bool shuffle = false;
  /// With `shuffle`: Balanced gives every batch equal class shares (labels required; an epoch
  /// keeps its number of batches, so rare tiles repeat and common ones are subsampled).
  Sampler sampler = Sampler::Shuffle;
  bool drop_last = false;
  CacheMode cache = CacheMode::Auto;
  int64_t cache_budget_bytes = 4LL << 30;
  /// A bad tile throws BadData instead of being skipped.
  bool strict = false;
  /// Batches decoded ahead of the consumer.
  int prefetch = 2;
  /// Pin batches (for asynchronous host-to-device copies on CUDA); ignored without CUDA.
  bool pin_memory = false;
  /// Larger images are refused (or, for JPEG, reduced while decoding): io::DecodeOptions.
  int64_t max_pixels = 8192LL * 8192LL;
};

/// Decodes `paths` (with `labels`, or -1 when unlabelled: pass an empty vector) into batches on
/// a thread pool of `context.threads` workers, `prefetch` batches ahead on a background thread
/// (0: decode inside next()). Batches come in epoch order; epoch e is shuffled with seed
/// (context.seed, e) by a portable Fisher-Yates over std::mt19937_64, so orders match across
/// platforms. Throws Usage for invalid options.
class TileLoader {
 public:
  TileLoader(std::vector<std::string> paths, std::vector<int64_t> labels, LoaderOptions options, const Context& context);
  ~TileLoader();
  TileLoader(const TileLoader&) = delete;
  TileLoader& operator=(const TileLoader&) = delete;

  /// Begins epoch `epoch` (reshuffles when shuffling); batches then come from next().
  void start_epoch(int epoch);
  /// Begins a pass over every tile once, in input order, whatever the shuffle and sampler
  /// (e.g. to compute features of the whole training set); batches then come from next().
  void start_pass();
  /// The next batch of the current epoch, or nullopt at its end.
  std::optional<Batch> next();
  /// Batches per epoch.
  size_t batches_per_epoch() const;
  /// Number of input tiles.
  size_t size() const;
  /// Every bad tile seen so far (each listed once).
  std::vector<BadFile> bad_files() const;
  /// Whether decoded tiles are being kept in RAM (decided at the first epoch).
  bool caching() const;
  /// Tile height and width (known after the first start_epoch; 0 while unknown).
  std::pair<int, int> tile_shape() const;

 private:
  struct State;
  void begin_batches();  // starts producing the batches of the order just set
  std::unique_ptr<State> state_;
};

/// The square size a TileLoader should bring tiles to, given the side of a first decoded
/// tile: larger tiles are shrunk to `input_size` on the CPU (INTER_AREA, which filters
/// properly and ships fewer bytes); smaller ones keep their size (mixed sizes are brought to
/// the first one's) and are enlarged on the device by infer::Preprocessor. 0 (unknown) gives
/// `input_size`.
int loader_tile_size(int first_tile_side, int input_size);

/// The side of the first tile among `paths` that decodes (up to `attempts` tries), or 0.
int probe_tile_side(const std::vector<std::string>& paths, int channels, int attempts = 8);

}  // namespace satx::data
