#pragma once
/// Weight files as bytes: detecting the format and reading any supported one into named
/// tensors in PyTorch layouts (models/weights.hpp loads them into networks; docs/weights.md).

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "satx/io/safetensors.hpp"

namespace satx::io {

/// The formats read_weights understands.
enum class WeightsFormat { Safetensors, TorchZip, KerasH5 };

/// "safetensors", "pth" or "h5" (the manifests' `format` spelling).
const char* weights_format_name(WeightsFormat format);

/// Detects a file's format by its first bytes (zip or legacy pickle: pth; HDF5 signature: h5;
/// a plausible safetensors header: safetensors). BadData naming `path` when none fits.
WeightsFormat detect_weights_format(const std::filesystem::path& path);

/// Reads a weights file of any supported format into state-dict names and PyTorch layouts:
/// safetensors (satx model files included) as is, torch.save archives via read_torch_pth,
/// Keras .h5 via read_keras_h5 (renamed and transposed; `arch_hint` picks the mapping when
/// the layer names do not tell). BadData naming `path` on failure.
TensorList read_weights(const std::filesystem::path& path, const std::string& arch_hint = "");

}  // namespace satx::io
