#pragma once
/// Reads PyTorch `.pth` / `.pt` weight files natively: the zip archives torch.save has written
/// since PyTorch 1.6 (`<name>/data.pkl` + `<name>/data/<key>` storages), as torchvision and
/// timm publish them. No Python, and not LibTorch's pickle_load (which aborts on OrderedDict
/// state dicts in 1.13).

#include <filesystem>

#include "satx/io/safetensors.hpp"

namespace satx::io {

/// Reads the state dict of a torch.save zip archive: CPU tensors in pickle order. Training
/// checkpoints that nest it (`{"state_dict": ...}`, `{"model": ...}`) and DataParallel's
/// `module.` prefix are unwrapped. BadData naming `path` for a malformed or truncated archive,
/// a CRC mismatch, an unsupported storage type, or a legacy (pre-1.6, non-zip) file, whose
/// message points at scripts/convert-legacy-pth.py.
TensorList read_torch_pth(const std::filesystem::path& path);

/// Whether the file starts like a torch.save archive (zip) or a legacy torch.save pickle.
bool looks_like_torch_file(const std::filesystem::path& path);

}  // namespace satx::io
