#include "satx/core/context.hpp"

#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "satx/core/error.hpp"

namespace satx {

std::shared_ptr<spdlog::logger> null_logger() {
  static auto logger = std::make_shared<spdlog::logger>("satx-null", std::make_shared<spdlog::sinks::null_sink_mt>());
  return logger;
}

torch::Device parse_device(const std::string& text) {
  if (text == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (text == "cpu") return torch::kCPU;
  if (text.rfind("cuda", 0) == 0) {
    int index = 0;
    if (text.size() > 4) {
      if (text[4] != ':' || text.size() == 5) throw_usage("bad -device '" + text + "' (expected auto, cpu, cuda or cuda:N)");
      try {
        index = std::stoi(text.substr(5));
      } catch (const std::exception&) {
        throw_usage("bad -device '" + text + "' (expected auto, cpu, cuda or cuda:N)");
      }
    }
    if (!torch::cuda::is_available())
      throw_option("device", "=" + text + " asked for CUDA, but no CUDA device is available (use -device=cpu or auto)");
    if (index < 0 || index >= static_cast<int>(torch::cuda::device_count()))
      throw_option("device", "=" + text + ": only " + std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw_usage(unknown_value_message("device", text, {"auto", "cpu", "cuda", "cuda:N"}));
}

Context make_context(const ContextOptions& options, std::shared_ptr<spdlog::logger> log) {
  if (options.threads < 0 || options.threads > 1024)
    throw_option("threads", "must be in [0, 1024] (0 = all cores), got " + std::to_string(options.threads));
  Context context;
  context.device = parse_device(options.device);
  if (context.device.is_cuda()) {
    // What names no device (cuBLAS handles, streams, the caching allocator) goes to the chosen GPU.
    c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->setDevice(context.device);
  }
  context.seed = options.seed;
  context.threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  context.log = log ? std::move(log) : null_logger();
  torch::set_num_threads(context.threads);
  torch::manual_seed(context.seed);
  return context;
}

const char* version() { return SATX_VERSION; }

std::string torch_version() { return TORCH_VERSION; }

}  // namespace satx
