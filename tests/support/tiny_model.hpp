#pragma once
// A small labelled dataset and a MobileNetV2 whose head is fitted to it, for end-to-end tests
// of eval and predict that need a model better than chance.

#include <filesystem>
#include <string>
#include <vector>

#include "satx/core/context.hpp"
#include "satx/infer/engine.hpp"

namespace satx::testing {

/// Writes make_tiny_dataset(`data`, classes, per_class, size) and a MobileNetV2 model file
/// (input size = `size`, random backbone with seed 7) at `model`. With `fit_head`, the head is
/// trained on the dataset's pooled features until it separates the classes.
void write_tiny_model(const std::filesystem::path& model, const std::filesystem::path& data,
                      const std::vector<std::string>& classes, int per_class, int size, bool fit_head);

/// The tile paths make_tiny_dataset writes under `data`, class by class
/// (`<data>/<class>/<class>_0000.png` ...), in the order a sorted listing gives.
std::vector<std::string> tiny_tile_paths(const std::filesystem::path& data, const std::vector<std::string>& classes,
                                         int per_class);

/// A CPU context with `seed` and two threads, as the scoring tests use.
Context cpu_context(uint64_t seed);

/// The model file at `model`, loaded on the CPU behind an InferenceEngine.
infer::InferenceEngine cpu_engine(const std::filesystem::path& model);

}  // namespace satx::testing
