#pragma once
/// The machine a run computed on, in words, for run records (config.json) and reports.

#include <string>

#include <torch/types.h>

namespace satx {

/// e.g. "cpu: AMD EPYC 7B13, 2 hardware threads (2 used)" or "cuda:0: NVIDIA H100 80GB HBM3; host: ...".
/// The CPU model comes from /proc/cpuinfo and the GPU model from the NVIDIA driver's /proc files;
/// parts that cannot be read are left out (never an error).
std::string describe_hardware(torch::Device device);

}  // namespace satx
