#include "satx/data/loader.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include <opencv2/core.hpp>
#include <spdlog/logger.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/core/random.hpp"
#include "satx/core/thread_pool.hpp"
#include "satx/io/image.hpp"
#include "satx/io/prediction_reader.hpp"

namespace satx::data {

namespace {

enum TileStatus : uint8_t { Unknown = 0, Cached = 1, Bad = 2 };

std::vector<size_t> epoch_order(size_t count, bool shuffle, uint64_t seed, int epoch) {
  std::vector<size_t> order(count);
  for (size_t i = 0; i < count; ++i) order[i] = i;
  if (!shuffle) return order;
  std::mt19937_64 rng = epoch_generator(seed, epoch);
  portable_shuffle(order, rng);
  return order;
}

// HWC (OpenCV) to CHW (the tensor's planes) without a per-pixel loop.
void copy_to_planes(const cv::Mat& tile, uint8_t* destination) {
  int channels = tile.channels();
  if (channels == 1) {
    std::memcpy(destination, tile.data, tile.total());
    return;
  }
  std::vector<cv::Mat> planes;
  planes.reserve(static_cast<size_t>(channels));
  for (int c = 0; c < channels; ++c)
    planes.emplace_back(tile.rows, tile.cols, CV_8UC1, destination + static_cast<size_t>(c) * tile.total());
  cv::split(tile, planes.data());
}

struct QueueItem {
  std::optional<Batch> batch;
  std::exception_ptr error;
};

}  // namespace

CacheMode parse_cache_mode(const std::string& text, const std::string& flag) {
  if (text == "auto") return CacheMode::Auto;
  if (text == "ram") return CacheMode::Ram;
  if (text == "off") return CacheMode::Off;
  throw_usage(unknown_value_message(flag, text, {"auto", "ram", "off"}));
}

const char* cache_mode_name(CacheMode mode) {
  return mode == CacheMode::Ram ? "ram" : mode == CacheMode::Off ? "off" : "auto";
}

void write_bad_files(const std::string& path, const std::vector<BadFile>& files) {
  std::string text;
  // The format of predict's .errors: a tab or newline in a name would otherwise split the row.
  for (const BadFile& file : files) text += io::format_error_line(io::ErrorEntry{file.path, file.reason});
  write_file_atomic(path, text);
}

struct TileLoader::State {
  State(std::vector<std::string> paths_in, std::vector<int64_t> labels_in, LoaderOptions options_in,
        const Context& context_in)
      : paths(std::move(paths_in)),
        labels(std::move(labels_in)),
        options(std::move(options_in)),
        context(context_in),
        pool(std::max(1, context_in.threads)),
        status(new std::atomic<uint8_t>[paths.size() ? paths.size() : 1]) {
    for (size_t i = 0; i < paths.size(); ++i) status[i].store(Unknown, std::memory_order_relaxed);
  }

  std::vector<std::string> paths;
  std::vector<int64_t> labels;
  LoaderOptions options;
  Context context;
  ThreadPool pool;
  bool pin = false;

  int height = 0, width = 0;  // 0 until known
  size_t tile_bytes = 0;
  bool settled = false;       // shape and cache decided
  bool caching = false;
  torch::Tensor cache;        // uint8 [N, C, H, W] when caching
  std::unique_ptr<std::atomic<uint8_t>[]> status;

  mutable std::mutex bad_mutex;
  std::vector<BadFile> bad_files;
  std::unordered_map<size_t, std::string> bad_reasons;

  std::vector<size_t> order;
  bool started = false;
  size_t batches = 0;
  size_t next_inline = 0;  // prefetch == 0: the next batch next() builds itself

  std::thread producer;
  std::mutex queue_mutex;
  std::condition_variable queue_changed;
  std::deque<QueueItem> queue;
  bool cancel = false;
  bool finished = false;

  io::DecodeOptions decode_options() const {
    io::DecodeOptions decode;
    decode.channels = options.channels;
    decode.size = options.tile_size;
    decode.max_pixels = options.max_pixels;
    return decode;
  }

  void record_bad(size_t index, const std::string& reason) {
    status[index].store(Bad);
    std::lock_guard<std::mutex> lock(bad_mutex);
    if (!bad_reasons.emplace(index, reason).second) return;
    bad_files.push_back({paths[index], reason});
    if (context.log) context.log->warn("skipping {}: {}", paths[index], reason);
  }

  std::string bad_reason(size_t index) const {
    std::lock_guard<std::mutex> lock(bad_mutex);
    auto it = bad_reasons.find(index);
    return it == bad_reasons.end() ? "unreadable" : it->second;
  }

  // The tile shape comes from the options, or from the first readable tile; the cache is
  // then sized from it (the "estimate from the first tile").
  void settle() {
    if (settled) return;
    settled = true;
    if (options.tile_size > 0) {
      height = width = options.tile_size;
    } else {
      for (size_t i = 0; i < paths.size() && height == 0; ++i) {
        io::DecodeResult result = io::try_decode_tile(paths[i], decode_options());
        if (!result.tile) {
          record_bad(i, result.error);
          continue;
        }
        height = result.tile->pixels.rows;
        width = result.tile->pixels.cols;
      }
    }
    tile_bytes = static_cast<size_t>(height) * static_cast<size_t>(width) * static_cast<size_t>(options.channels);
    int64_t total = static_cast<int64_t>(tile_bytes) * static_cast<int64_t>(paths.size());
    caching = tile_bytes > 0 && (options.cache == CacheMode::Ram || (options.cache == CacheMode::Auto && total <= options.cache_budget_bytes));
    if (caching) {
      cache = torch::empty({static_cast<int64_t>(paths.size()), options.channels, height, width}, torch::kUInt8);
      if (context.log)
        context.log->debug("caching {} decoded tiles in RAM ({:.0f} MB)", paths.size(), double(total) / 1e6);
    }
  }

  // Decodes (or fetches from the cache) tile `index` into `destination`; false when it is bad.
  bool fill(size_t index, uint8_t* destination) {
    uint8_t state = status[index].load();
    if (state == Cached) {
      std::memcpy(destination, cache.data_ptr<uint8_t>() + index * tile_bytes, tile_bytes);
      return true;
    }
    if (state == Bad) return false;
    io::DecodeResult result = io::try_decode_tile(paths[index], decode_options());
    if (!result.tile) {
      record_bad(index, result.error);
      return false;
    }
    const cv::Mat& pixels = result.tile->pixels;
    if (pixels.rows != height || pixels.cols != width) {
      record_bad(index, "is " + std::to_string(pixels.cols) + "x" + std::to_string(pixels.rows) +
                            " but the other tiles are " + std::to_string(width) + "x" + std::to_string(height) +
                            " (set a tile size to resize every tile)");
      return false;
    }
    if (caching) {
      uint8_t* slot = cache.data_ptr<uint8_t>() + index * tile_bytes;
      copy_to_planes(pixels, slot);
      std::memcpy(destination, slot, tile_bytes);
      status[index].store(Cached);
    } else {
      copy_to_planes(pixels, destination);
    }
    return true;
  }

  Batch build(size_t batch_index) {
    size_t begin = batch_index * static_cast<size_t>(options.batch_size);
    size_t end = std::min(order.size(), begin + static_cast<size_t>(options.batch_size));
    size_t count = end - begin;
    auto tensor_options = torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(pin);
    torch::Tensor images = torch::empty({static_cast<int64_t>(count), options.channels, height, width}, tensor_options);
    uint8_t* base = images.data_ptr<uint8_t>();
    std::vector<char> ok(count, 0);
    pool.parallel_for(count, [&](size_t row) { ok[row] = fill(order[begin + row], base + row * tile_bytes); });

    Batch batch;
    std::vector<int64_t> batch_labels;
    size_t kept = 0;
    for (size_t row = 0; row < count; ++row) {
      size_t index = order[begin + row];
      if (!ok[row]) {
        if (options.strict) throw_bad_data(paths[index] + ": " + bad_reason(index));
        batch.failed.push_back({paths[index], bad_reason(index)});
        continue;
      }
      // Close the gaps left by bad tiles; rows only move towards the front.
      if (kept != row) std::memcpy(base + kept * tile_bytes, base + row * tile_bytes, tile_bytes);
      batch.indices.push_back(index);
      batch_labels.push_back(labels.empty() ? -1 : labels[index]);
      ++kept;
    }
    batch.images = kept == count ? images : images.narrow(0, 0, static_cast<int64_t>(kept));
    batch.labels = torch::tensor(batch_labels, torch::kInt64).reshape({static_cast<int64_t>(kept)});
    return batch;
  }

  void produce() {
    for (size_t b = 0; b < batches; ++b) {
      {
        std::unique_lock<std::mutex> lock(queue_mutex);
        queue_changed.wait(lock, [&] { return cancel || queue.size() < static_cast<size_t>(options.prefetch); });
        if (cancel) break;
      }
      QueueItem item;
      try {
        item.batch = build(b);
      } catch (...) {
        item.error = std::current_exception();
      }
      bool failed = static_cast<bool>(item.error);
      {
        std::lock_guard<std::mutex> lock(queue_mutex);
        queue.push_back(std::move(item));
      }
      queue_changed.notify_all();
      if (failed) break;
    }
    {
      std::lock_guard<std::mutex> lock(queue_mutex);
      finished = true;
    }
    queue_changed.notify_all();
  }

  void stop() {
    if (producer.joinable()) {
      {
        std::lock_guard<std::mutex> lock(queue_mutex);
        cancel = true;
      }
      queue_changed.notify_all();
      producer.join();
    }
    std::lock_guard<std::mutex> lock(queue_mutex);
    queue.clear();
    cancel = false;
    finished = false;
  }
};

TileLoader::TileLoader(std::vector<std::string> paths, std::vector<int64_t> labels, LoaderOptions options,
                       const Context& context) {
  if (options.batch_size < 1) throw_usage("batch size must be at least 1, got " + std::to_string(options.batch_size));
  if (options.channels < 1) throw_usage("tile channels must be at least 1, got " + std::to_string(options.channels));
  if (options.tile_size < 0) throw_usage("tile size must be >= 0, got " + std::to_string(options.tile_size));
  if (options.prefetch < 0) throw_usage("prefetch must be >= 0, got " + std::to_string(options.prefetch));
  if (!labels.empty() && labels.size() != paths.size())
    throw_usage(std::to_string(paths.size()) + " tiles but " + std::to_string(labels.size()) + " labels");
  if (options.sampler == Sampler::Balanced && labels.empty()) throw_usage("balanced sampling needs labelled tiles");
  state_ = std::make_unique<State>(std::move(paths), std::move(labels), std::move(options), context);
  state_->pin = state_->options.pin_memory && torch::cuda::is_available();
}

TileLoader::~TileLoader() { state_->stop(); }

void TileLoader::start_epoch(int epoch) {
  State& s = *state_;
  s.stop();
  s.settle();
  if (s.options.shuffle && s.options.sampler == Sampler::Balanced) {
    s.order = balanced_order(s.labels, static_cast<size_t>(s.options.batch_size), batches_per_epoch(), s.context.seed, epoch);
  } else {
    s.order = epoch_order(s.paths.size(), s.options.shuffle, s.context.seed, epoch);
    if (s.options.drop_last) s.order.resize(s.order.size() / s.options.batch_size * s.options.batch_size);
  }
  begin_batches();
}

void TileLoader::start_pass() {
  State& s = *state_;
  s.stop();
  s.settle();
  s.order = epoch_order(s.paths.size(), false, 0, 0);
  begin_batches();
}

void TileLoader::begin_batches() {
  State& s = *state_;
  const auto batch = static_cast<size_t>(s.options.batch_size);
  s.batches = (s.order.size() + batch - 1) / batch;
  s.next_inline = 0;
  s.started = true;
  if (s.options.prefetch > 0) s.producer = std::thread([&s] { s.produce(); });
}

std::optional<Batch> TileLoader::next() {
  State& s = *state_;
  if (!s.started) start_epoch(0);
  if (s.options.prefetch == 0) {
    if (s.next_inline >= s.batches) return std::nullopt;
    return s.build(s.next_inline++);
  }
  QueueItem item;
  {
    std::unique_lock<std::mutex> lock(s.queue_mutex);
    s.queue_changed.wait(lock, [&] { return !s.queue.empty() || s.finished; });
    if (s.queue.empty()) return std::nullopt;
    item = std::move(s.queue.front());
    s.queue.pop_front();
  }
  s.queue_changed.notify_all();
  if (item.error) std::rethrow_exception(item.error);
  return std::move(item.batch);
}

size_t TileLoader::batches_per_epoch() const {
  size_t count = state_->paths.size();
  size_t batch = static_cast<size_t>(state_->options.batch_size);
  return state_->options.drop_last ? count / batch : (count + batch - 1) / batch;
}

size_t TileLoader::size() const { return state_->paths.size(); }

std::vector<BadFile> TileLoader::bad_files() const {
  std::lock_guard<std::mutex> lock(state_->bad_mutex);
  return state_->bad_files;
}

bool TileLoader::caching() const { return state_->caching; }

std::pair<int, int> TileLoader::tile_shape() const { return {state_->height, state_->width}; }

int loader_tile_size(int first_tile_side, int input_size) {
  if (first_tile_side <= 0 || first_tile_side > input_size) return input_size;
  return first_tile_side;
}

int probe_tile_side(const std::vector<std::string>& paths, int channels, int attempts) {
  io::DecodeOptions options;
  options.channels = channels;
  for (size_t i = 0; i < paths.size() && static_cast<int>(i) < attempts; ++i) {
    io::DecodeResult result = io::try_decode_tile(paths[i], options);
    if (result.tile) return std::max(result.tile->pixels.rows, result.tile->pixels.cols);
  }
  return 0;
}

}  // namespace satx::data
