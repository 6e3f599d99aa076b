#include "satx/io/weights.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/strings.hpp"
#include "satx/io/keras_h5.hpp"
#include "satx/io/torch_pth.hpp"

namespace fs = std::filesystem;

namespace satx::io {

const char* weights_format_name(WeightsFormat format) {
  switch (format) {
    case WeightsFormat::Safetensors: return "safetensors";
    case WeightsFormat::TorchZip: return "pth";
    case WeightsFormat::KerasH5: return "h5";
  }
  return "?";
}

WeightsFormat detect_weights_format(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_bad_data("reading weights " + path.string() + ": " + std::strerror(errno));
  static const uint8_t hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  // HDF5 allows a user block before the superblock: the signature may sit at 0, 512, 1024, ...
  for (std::streamoff offset : {0, 512, 1024, 2048, 4096}) {
    uint8_t head[8] = {};
    in.clear();
    in.seekg(offset);
    if (in.read(reinterpret_cast<char*>(head), 8) && std::memcmp(head, hdf5_signature, 8) == 0)
      return WeightsFormat::KerasH5;
  }
  // Safetensors first: its first byte (the header length's low byte) may look like a pickle's.
  uint8_t head[9] = {};
  in.clear();
  in.seekg(0);
  if (in.read(reinterpret_cast<char*>(head), 9) && head[8] == '{') {
    uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = (length << 8) | head[i];
    if (length <= kMaxSafetensorsHeader) return WeightsFormat::Safetensors;
  }
  if (looks_like_torch_file(path)) return WeightsFormat::TorchZip;
  if (lower(path.extension().string()) == ".safetensors") return WeightsFormat::Safetensors;  // the parser says why
  throw_bad_data("reading weights " + path.string() +
                 ": not a weights file satx reads (safetensors, PyTorch .pth/.pt zip archive, Keras .h5)");
}

TensorList read_weights(const fs::path& path, const std::string& arch_hint) {
  switch (detect_weights_format(path)) {
    case WeightsFormat::Safetensors: return read_safetensors(path);
    case WeightsFormat::TorchZip: return read_torch_pth(path);
    case WeightsFormat::KerasH5: return read_keras_h5(path, arch_hint).tensors;
  }
  throw_bad_data("reading weights " + path.string() + ": unknown format");
}

}  // namespace satx::io
