#include "satx/io/safetensors.hpp"

#include <cstring>
#include <fstream>
#include <set>

#include <torch/torch.h>

#include "io/detail/mapped_file.hpp"
#include "satx/core/error.hpp"
#include "satx/core/files.hpp"

namespace fs = std::filesystem;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "satx reads and writes little-endian tensor data by copying bytes; big-endian hosts need byte swapping"
#endif

namespace satx::io {
namespace {

struct DtypeName {
  const char* name;
  torch::ScalarType type;
};

// The safetensors dtypes LibTorch 1.13 can hold (it has no U16/U32/U64 or float8).
constexpr DtypeName kDtypes[] = {
    {"F64", torch::kDouble}, {"F32", torch::kFloat}, {"F16", torch::kHalf}, {"BF16", torch::kBFloat16},
    {"I64", torch::kLong},   {"I32", torch::kInt},   {"I16", torch::kShort}, {"I8", torch::kChar},
    {"U8", torch::kByte},    {"BOOL", torch::kBool},
};

torch::ScalarType torch_dtype(const TensorEntry& entry, const std::string& origin) {
  for (const auto& d : kDtypes)
    if (entry.dtype == d.name) return d.type;
  throw_bad_data(origin + ": tensor '" + entry.name + "' has dtype " + entry.dtype + ", which satx cannot load");
}

torch::Tensor copy_tensor(const TensorEntry& entry, const uint8_t* bytes, const std::string& origin) {
  const auto type = torch_dtype(entry, origin);
  torch::Tensor tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(type));
  const size_t count = entry.end - entry.begin;
  if (type == torch::kBool) {
    // A bool tensor holding anything but 0/1 is undefined behaviour in LibTorch kernels.
    for (size_t i = 0; i < count; ++i)
      if (bytes[i] > 1) throw_bad_data(origin + ": tensor '" + entry.name + "' holds a BOOL byte other than 0 or 1");
  }
  if (count) std::memcpy(tensor.data_ptr(), bytes, count);
  return tensor;
}

}  // namespace

std::string safetensors_dtype_name(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d.name;
  throw_runtime(std::string("safetensors has no dtype for ") + c10::toString(type));
}

TensorList read_safetensors(const fs::path& path, std::map<std::string, std::string>* metadata) {
  const std::string origin = "reading " + path.string();
  detail::MappedFile file(path);
  SafetensorsHeader header = parse_safetensors_header(file.data(), file.size(), file.size(), origin);
  TensorList tensors;
  tensors.reserve(header.tensors.size());
  const uint8_t* data = file.data() + header.data_offset;
  for (const auto& entry : header.tensors) tensors.emplace_back(entry.name, copy_tensor(entry, data + entry.begin, origin));
  if (metadata) *metadata = std::move(header.metadata);
  return tensors;
}

SafetensorsHeader read_safetensors_header(const fs::path& path) {
  const std::string origin = "reading " + path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_bad_data(origin + ": " + std::strerror(errno));
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path, ec);
  if (ec) throw_bad_data(origin + ": " + ec.message());
  std::string prefix(8, '\0');
  if (!in.read(prefix.data(), 8)) throw_bad_data(origin + ": file too short for a safetensors header");
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<uint8_t>(prefix[i]);
  // Read no more than the file holds and the parser accepts; it reports the exact reason.
  if (length <= kMaxSafetensorsHeader && length <= file_size - 8) {
    prefix.resize(8 + length);
    if (!in.read(prefix.data() + 8, static_cast<std::streamsize>(length))) throw_bad_data(origin + ": header is truncated");
  }
  return parse_safetensors_header(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size(), file_size, origin);
}

void write_safetensors(const fs::path& path, const TensorList& tensors, const std::map<std::string, std::string>& metadata) {
  std::vector<TensorEntry> entries;
  std::vector<torch::Tensor> contiguous;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || !names.insert(name).second)
      throw_runtime("writing " + path.string() + ": tensor name '" + name + "' is reserved or repeated");
    if (!tensor.defined()) throw_runtime("writing " + path.string() + ": tensor '" + name + "' is undefined");
    torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    TensorEntry entry;
    entry.name = name;
    entry.dtype = safetensors_dtype_name(cpu.scalar_type());
    entry.shape = cpu.sizes().vec();
    entry.begin = offset;
    entry.end = offset + cpu.numel() * cpu.element_size();
    offset = entry.end;
    entries.push_back(std::move(entry));
    contiguous.push_back(std::move(cpu));
  }
  AtomicFile file(path);
  file.write(encode_safetensors_header(entries, metadata));
  for (const auto& tensor : contiguous) file.write(tensor.data_ptr(), tensor.numel() * tensor.element_size());
  file.commit();
}

}  // namespace satx::io
