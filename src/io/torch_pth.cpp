#include "satx/io/torch_pth.hpp"

#include <cstring>
#include <fstream>

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/torch_compat.hpp"

#if SATX_TORCH_PICKLE_LOADS_STATE_DICTS
#include <torch/serialize.h>
#else
#include "io/detail/pickle.hpp"
#endif

namespace satx::io {
namespace {

constexpr const char* kLegacyHint =
    ": a legacy (pre-1.6, non-zip) torch.save file; convert it once with "
    "`python3 scripts/convert-legacy-pth.py IN.pth OUT.safetensors` (needs PyTorch) and import OUT";

bool looks_like_zip(const uint8_t* data, size_t size) {
  return size >= 4 && data[0] == 'P' && data[1] == 'K' && ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6));
}

// Legacy torch.save files are a bare pickle stream (protocol 2 starts with 0x80 0x02) or a tar.
bool looks_legacy(const uint8_t* data, size_t size) {
  if (size >= 2 && data[0] == 0x80 && data[1] <= 5) return true;
  return size >= 262 && std::memcmp(data + 257, "ustar", 5) == 0;
}

std::vector<uint8_t> head_of(const std::filesystem::path& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> head(bytes);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(bytes));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

#if SATX_TORCH_PICKLE_LOADS_STATE_DICTS
// LibTorch's own weights-only unpickler reads the archive; satx keeps the tensors of the dict.
TensorList read_with_libtorch(const std::filesystem::path& path, const std::string& origin) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const c10::IValue root = torch::pickle_load(bytes);
  auto tensors_of = [](const c10::IValue& value) {
    TensorList out;
    if (!value.isGenericDict()) return out;
    for (const auto& item : value.toGenericDict())
      if (item.key().isString() && item.value().isTensor()) out.emplace_back(item.key().toStringRef(), item.value().toTensor());
    return out;
  };
  TensorList tensors = tensors_of(root);
  // Training checkpoints nest the weights one level down.
  if (tensors.empty() && root.isGenericDict())
    for (const auto& item : root.toGenericDict())
      if (tensors.empty()) tensors = tensors_of(item.value());
  if (tensors.empty()) throw_bad_data(origin + ": does not hold a state dict (no tensors by name)");
  bool prefixed = true;
  for (const auto& [name, tensor] : tensors) prefixed = prefixed && name.rfind("module.", 0) == 0;
  if (prefixed)
    for (auto& entry : tensors) entry.first.erase(0, 7);
  return tensors;
}
#endif

}  // namespace

bool looks_like_torch_file(const std::filesystem::path& path) {
  const auto head = head_of(path, 262);
  return looks_like_zip(head.data(), head.size()) || looks_legacy(head.data(), head.size());
}

TensorList read_torch_pth(const std::filesystem::path& path) {
  const std::string origin = "reading " + path.string();
  const auto head = head_of(path, 262);
  if (!looks_like_zip(head.data(), head.size())) {
    if (looks_legacy(head.data(), head.size())) throw_bad_data(origin + kLegacyHint);
    throw_bad_data(origin + ": not a PyTorch zip archive (torch.save, PyTorch >= 1.6)");
  }
  try {
#if SATX_TORCH_PICKLE_LOADS_STATE_DICTS
    return read_with_libtorch(path, origin);
#else
    // LibTorch's archive reader (the one torch.load uses) finds the records; before 2.6 its
    // unpickler cannot build state dicts, so satx's restricted one reads data.pkl.
    caffe2::serialize::PyTorchStreamReader archive(path.string());
    if (!archive.hasRecord("data.pkl")) throw_bad_data(origin + ": zip archive without data.pkl (not written by torch.save)");
    if (archive.hasRecord("byteorder")) {
      const auto [order, order_size] = archive.getRecord("byteorder");
      if (std::string(static_cast<const char*>(order.get()), order_size) != "little")
        throw_bad_data(origin + ": tensors were saved big-endian; satx reads little-endian archives");
    }
    detail::StorageLoader load = [&](const std::string& key, torch::ScalarType type, int64_t numel) {
      const std::string name = "data/" + key;
      if (key.find('/') != std::string::npos || !archive.hasRecord(name))
        throw_bad_data(origin + ": storage '" + key + "' is missing from the archive");
      auto [bytes, size] = archive.getRecord(name);
      const uint64_t element = c10::elementSize(type);
      if (static_cast<uint64_t>(numel) > size / element)
        throw_bad_data(origin + ": storage '" + key + "' holds " + std::to_string(size) + " bytes, fewer than its " +
                       std::to_string(numel) + " elements need");
      const auto* data = static_cast<const uint8_t*>(bytes.get());
      if (type == torch::kBool)
        for (int64_t i = 0; i < numel; ++i)
          if (data[i] > 1) throw_bad_data(origin + ": bool storage '" + key + "' holds a byte other than 0/1");
      torch::Tensor storage = torch::empty({numel}, torch::TensorOptions().dtype(type));
      if (numel) std::memcpy(storage.data_ptr(), data, numel * element);
      return storage;
    };
    const auto [pickle, pickle_size] = archive.getRecord("data.pkl");
    return detail::unpickle_state_dict(static_cast<const uint8_t*>(pickle.get()), pickle_size, load, origin + " (data.pkl)");
#endif
  } catch (const c10::Error& error) {
    throw_bad_data(origin + ": not a readable torch.save archive (" + error.what_without_backtrace() + ")");
  }
}

}  // namespace satx::io
