#pragma once
/// The run-wide context every component receives instead of global state.

#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <torch/types.h>

namespace satx {

/// How to set up a Context.
struct ContextOptions {
  /// "auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N".
  std::string device = "auto";
  /// Seed for every random stream (shuffling, augmentation, initialization).
  uint64_t seed = 42;
  /// Worker threads for compute and decoding; 0 means all hardware threads.
  int threads = 0;
};

/// Device, seed, threads and the logger, passed to every component.
struct Context {
  torch::Device device = torch::kCPU;
  uint64_t seed = 42;
  int threads = 1;
  /// Where the library logs (the CLI points it at stderr; tests may silence it).
  std::shared_ptr<spdlog::logger> log;
};

/// Resolves `options` into a Context: picks the device (Usage error when a requested CUDA
/// device is absent), applies the thread count to LibTorch (Debian's build starts with one
/// intra-op thread) and seeds LibTorch. `log` may be null: a silent logger is used.
Context make_context(const ContextOptions& options, std::shared_ptr<spdlog::logger> log = nullptr);

/// A logger that drops everything (for tests and library defaults).
std::shared_ptr<spdlog::logger> null_logger();

/// Parses a device string ("auto", "cpu", "cuda", "cuda:1"); throws a Usage error naming it.
torch::Device parse_device(const std::string& text);

/// The satx version string, e.g. "0.1.0".
const char* version();

/// LibTorch's version, e.g. "1.13.1".
std::string torch_version();

}  // namespace satx
