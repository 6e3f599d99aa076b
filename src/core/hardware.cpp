#include "satx/core/hardware.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <torch/torch.h>

namespace satx {

namespace {

// "key<tabs>: value" lines as /proc/cpuinfo and the NVIDIA driver's information files write them.
std::string proc_value(const std::filesystem::path& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? std::string() : line.substr(start);
  }
  return {};
}

std::string gpu_model(int index) {
  // The driver lists GPUs by PCI bus id, which is CUDA's default order too.
  std::vector<std::filesystem::path> gpus;
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc/driver/nvidia/gpus", error), end; !error && it != end;
       it.increment(error))
    gpus.push_back(it->path());
  std::sort(gpus.begin(), gpus.end());
  if (index < 0 || static_cast<size_t>(index) >= gpus.size()) return {};
  return proc_value(gpus[static_cast<size_t>(index)] / "information", "Model");
}

}  // namespace

std::string describe_hardware(torch::Device device) {
  std::string cpu = proc_value("/proc/cpuinfo", "model name");
  if (cpu.empty()) cpu = "unknown CPU";
  cpu += ", " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads (" +
         std::to_string(torch::get_num_threads()) + " used)";
  if (!device.is_cuda()) return "cpu: " + cpu;
  const std::string gpu = gpu_model(device.has_index() ? device.index() : 0);
  return device.str() + ": " + (gpu.empty() ? "CUDA device" : gpu) + "; host: " + cpu;
}

}  // namespace satx
