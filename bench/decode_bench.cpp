// satx_bench_decode: times decoding + batching a folder-per-class dataset with TileLoader.
//
//   satx_bench_decode [FOLDER] [--threads=N] [--batch=N] [--size=S] [--runs=N] [--cache=off|ram|auto]
//
// Each run builds a fresh loader and reads one epoch, so every run decodes every tile; the
// first run also warms the operating system's file cache. With --cache=ram/auto a second
// epoch of the last loader is timed too (tiles served from the decoded-tile cache).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <torch/torch.h>

#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/data/dataset.hpp"
#include "satx/data/loader.hpp"

namespace {

struct Settings {
  std::string folder = "../shared/data/eurosat/train";
  int threads = 0;
  int batch = 64;
  int size = 0;
  int runs = 2;
  std::string cache = "off";
};

Settings parse(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& name) -> const char* {
      return arg.rfind(name + "=", 0) == 0 ? argv[i] + name.size() + 1 : nullptr;
    };
    if (const char* v = value("--threads")) settings.threads = std::stoi(v);
    else if (const char* v = value("--batch")) settings.batch = std::stoi(v);
    else if (const char* v = value("--size")) settings.size = std::stoi(v);
    else if (const char* v = value("--runs")) settings.runs = std::stoi(v);
    else if (const char* v = value("--cache")) settings.cache = v;
    else if (arg.rfind("--", 0) == 0) throw std::runtime_error("unknown option " + arg);
    else settings.folder = arg;
  }
  return settings;
}

struct Timing {
  int64_t tiles = 0;
  int64_t bad = 0;
  double seconds = 0;
};

// Reads one epoch; the consumer only touches each batch, as a training step would read it.
Timing time_epoch(satx::data::TileLoader& loader, int epoch) {
  auto start = std::chrono::steady_clock::now();
  loader.start_epoch(epoch);
  Timing timing;
  int64_t checksum = 0;
  while (auto batch = loader.next()) {
    timing.tiles += batch->images.size(0);
    timing.bad += static_cast<int64_t>(batch->failed.size());
    if (batch->images.numel() > 0) checksum += batch->images.select(0, 0).select(0, 0)[0][0].item<uint8_t>();
  }
  timing.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (checksum < 0) std::cerr << "impossible\n";
  return timing;
}

void print_row(const std::string& run, const Timing& timing, int threads, const std::string& cache) {
  std::printf("%-22s %8lld %9.3f %10.0f %8d %6s\n", run.c_str(), static_cast<long long>(timing.tiles), timing.seconds,
              timing.tiles / timing.seconds, threads, cache.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Settings settings = parse(argc, argv);
    satx::ContextOptions context_options;
    context_options.device = "cpu";
    context_options.threads = settings.threads;
    satx::Context context = satx::make_context(context_options);
    satx::data::Dataset dataset = satx::data::discover_dataset(settings.folder);
    std::vector<std::string> paths;
    std::vector<int64_t> labels;
    for (const auto& sample : dataset.samples) {
      paths.push_back(sample.path);
      labels.push_back(sample.label);
    }
    satx::data::LoaderOptions options;
    options.batch_size = settings.batch;
    options.tile_size = settings.size;
    options.shuffle = true;
    options.cache = satx::data::parse_cache_mode(settings.cache, "--cache");

    std::printf("decode + batch: %s (%zu tiles, %zu classes), batch %d, tile size %s\n", settings.folder.c_str(),
                paths.size(), dataset.classes.size(), settings.batch,
                settings.size ? std::to_string(settings.size).c_str() : "as decoded");
    std::printf("%-22s %8s %9s %10s %8s %6s\n", "run", "tiles", "seconds", "tiles/s", "threads", "cache");
    std::unique_ptr<satx::data::TileLoader> loader;
    Timing last;
    for (int run = 1; run <= settings.runs; ++run) {
      loader = std::make_unique<satx::data::TileLoader>(paths, labels, options, context);
      last = time_epoch(*loader, 0);
      std::string name = run == 1 ? "1 (warms file cache)" : std::to_string(run) + " (warm file cache)";
      print_row(name, last, context.threads, loader->caching() ? "ram" : "off");
    }
    if (loader && loader->caching()) print_row("epoch 2 (tile cache)", time_epoch(*loader, 1), context.threads, "ram");
    if (last.bad > 0) std::printf("%lld tiles could not be read\n", static_cast<long long>(last.bad));
    return 0;
  } catch (const satx::Error& e) {
    std::cerr << "satx_bench_decode: error: " << e.what() << "\n";
    return satx::exit_code(e.code());
  } catch (const std::exception& e) {
    std::cerr << "satx_bench_decode: error: " << e.what() << "\n";
    return 1;
  }
}
