#include "satx/io/torch_pth.hpp"

#include <cstring>
#include <fstream>

#include <torch/torch.h>

#include "io/detail/mapped_file.hpp"
#include "io/detail/pickle.hpp"
#include "io/detail/zip_archive.hpp"
#include "satx/core/error.hpp"

namespace satx::io {
namespace {

constexpr const char* kLegacyHint =
    ": a legacy (pre-1.6, non-zip) torch.save file; convert it once with "
    "`python3 scripts/convert-legacy-pth.py IN.pth OUT.safetensors` (needs PyTorch) and import OUT";

// Legacy torch.save files are a bare pickle stream (protocol 2 starts with 0x80 0x02) or a tar.
bool looks_legacy(const uint8_t* data, size_t size) {
  if (size >= 2 && data[0] == 0x80 && data[1] <= 5) return true;
  return size >= 262 && std::memcmp(data + 257, "ustar", 5) == 0;
}

// torch.save names every record "<archive name>/...": find that prefix from data.pkl.
std::string archive_prefix(const detail::ZipArchive& archive, const std::string& origin) {
  for (const auto& entry : archive.entries()) {
    const auto slash = entry.name.find('/');
    if (slash != std::string::npos && entry.name.compare(slash, std::string::npos, "/data.pkl") == 0)
      return entry.name.substr(0, slash + 1);
  }
  throw_bad_data(origin + ": zip archive without <name>/data.pkl (not written by torch.save)");
}

}  // namespace

bool looks_like_torch_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  uint8_t head[262] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const size_t got = static_cast<size_t>(in.gcount());
  return detail::looks_like_zip(head, got) || looks_legacy(head, got);
}

TensorList read_torch_pth(const std::filesystem::path& path) {
  const std::string origin = "reading " + path.string();
  detail::MappedFile file(path);
  if (!detail::looks_like_zip(file.data(), file.size())) {
    if (looks_legacy(file.data(), file.size())) throw_bad_data(origin + kLegacyHint);
    throw_bad_data(origin + ": not a PyTorch zip archive (torch.save, PyTorch >= 1.6)");
  }
  detail::ZipArchive archive(file.data(), file.size(), origin);
  const std::string prefix = archive_prefix(archive, origin);

  if (const auto* order = archive.find(prefix + "byteorder")) {
    const char* bytes = reinterpret_cast<const char*>(archive.contents(*order));
    if (std::string(bytes, order->size) != "little")
      throw_bad_data(origin + ": tensors were saved big-endian; satx reads little-endian archives");
  }

  detail::StorageLoader load = [&](const std::string& key, torch::ScalarType type, int64_t numel) {
    const auto* entry = archive.find(prefix + "data/" + key);
    if (!entry) throw_bad_data(origin + ": storage '" + key + "' is missing from the archive");
    const uint64_t element = c10::elementSize(type);
    if (static_cast<uint64_t>(numel) > entry->size / element)
      throw_bad_data(origin + ": storage '" + key + "' holds " + std::to_string(entry->size) +
                     " bytes, fewer than its " + std::to_string(numel) + " elements need");
    const uint8_t* bytes = archive.contents(*entry);
    if (type == torch::kBool)
      for (int64_t i = 0; i < numel; ++i)
        if (bytes[i] > 1) throw_bad_data(origin + ": bool storage '" + key + "' holds a byte other than 0/1");
    // Copy out of the mapping: the tensors must outlive the file.
    torch::Tensor storage = torch::empty({numel}, torch::TensorOptions().dtype(type));
    if (numel) std::memcpy(storage.data_ptr(), bytes, numel * element);
    return storage;
  };

  const auto* pickle = archive.find(prefix + "data.pkl");
  return detail::unpickle_state_dict(archive.contents(*pickle), pickle->size, load, origin + " (" + pickle->name + ")");
}

}  // namespace satx::io
