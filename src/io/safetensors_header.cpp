#include "satx/io/safetensors_header.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "satx/core/error.hpp"

namespace satx::io {
namespace {

using json = nlohmann::json;

// A valid header nests root object -> entry object -> shape array -> number; anything deeper
// is hostile and is discarded while parsing, so no deep tree is ever built.
constexpr int kMaxContainerDepth = 3;
// More dimensions than any real tensor has; keeps a hostile shape from costing much.
constexpr size_t kMaxRank = 64;

uint64_t read_le64(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

[[noreturn]] void fail(const std::string& origin, const std::string& reason) {
  throw_bad_data(origin + ": " + reason);
}

// Parses JSON while rejecting duplicate keys (nlohmann keeps the last silently) and
// over-deep nesting, both without recursion.
json parse_json(const char* begin, const char* end, const std::string& origin) {
  bool too_deep = false;
  std::string duplicate;
  std::vector<std::set<std::string>> keys;  // one set per open object at depth 0 and 1
  json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth > kMaxContainerDepth) {
          too_deep = true;
          return false;
        }
        if (event == json::parse_event_t::object_start && depth <= 1) keys.emplace_back();
        return true;
      case json::parse_event_t::object_end:
        if (depth <= 1 && !keys.empty()) keys.pop_back();
        return true;
      case json::parse_event_t::key:
        if (depth >= 1 && depth <= 2 && keys.size() == static_cast<size_t>(depth) && parsed.is_string()) {
          const auto& key = parsed.get_ref<const std::string&>();
          if (!keys.back().insert(key).second && duplicate.empty()) duplicate = key;
        }
        return true;
      default:
        return true;
    }
  };
  json root;
  try {
    root = json::parse(begin, end, callback);
  } catch (const json::exception& e) {
    fail(origin, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (too_deep) fail(origin, "header JSON is nested deeper than a safetensors header can be");
  if (!duplicate.empty()) fail(origin, "header has the key '" + duplicate + "' twice");
  return root;
}

bool checked_multiply(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

TensorEntry parse_entry(const std::string& name, const json& value, uint64_t data_size, const std::string& origin) {
  const std::string where = "tensor '" + name + "'";
  if (!value.is_object()) fail(origin, where + " is not a JSON object");
  TensorEntry entry;
  entry.name = name;

  auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) fail(origin, where + " has no string 'dtype'");
  entry.dtype = dtype->get<std::string>();
  const size_t element_size = safetensors_dtype_size(entry.dtype);
  if (element_size == 0) fail(origin, where + " has unknown dtype '" + entry.dtype + "'");

  auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array()) fail(origin, where + " has no 'shape' array");
  if (shape->size() > kMaxRank) fail(origin, where + " has " + std::to_string(shape->size()) + " dimensions");
  uint64_t bytes = element_size;
  for (const auto& dim : *shape) {
    if (!dim.is_number_unsigned()) fail(origin, where + " has a shape entry that is not a non-negative integer");
    const uint64_t extent = dim.get<uint64_t>();
    if (extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(origin, where + " has a dimension too large: " + std::to_string(extent));
    if (!checked_multiply(bytes, extent, bytes)) fail(origin, where + " has a shape whose byte size overflows");
    entry.shape.push_back(static_cast<int64_t>(extent));
  }

  auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    fail(origin, where + " needs 'data_offsets': [begin, end] with non-negative integers");
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  if (entry.end < entry.begin) fail(origin, where + " has data_offsets that end before they begin");
  if (entry.end > data_size)
    fail(origin, where + " has data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                     "] past the end of the data (" + std::to_string(data_size) + " bytes)");
  if (entry.end - entry.begin != bytes)
    fail(origin, where + " spans " + std::to_string(entry.end - entry.begin) + " bytes but dtype " + entry.dtype +
                     " and its shape need " + std::to_string(bytes));
  return entry;
}

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::pair<const char*, size_t> sizes[] = {
      {"F64", 8}, {"F32", 4},  {"F16", 2},  {"BF16", 2}, {"I64", 8},    {"I32", 4},    {"I16", 2},
      {"I8", 1},  {"U64", 8},  {"U32", 4},  {"U16", 2},  {"U8", 1},     {"BOOL", 1},   {"F8_E4M3", 1},
      {"F8_E5M2", 1},
  };
  for (const auto& [name, size] : sizes)
    if (dtype == name) return size;
  return 0;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* data, size_t size, uint64_t file_size,
                                           const std::string& origin) {
  if (file_size < 8 || size < 8) fail(origin, "file too short for a safetensors header (" + std::to_string(file_size) + " bytes)");
  // The usual wrong file: a torch.save archive (a zip) or HDF5 where a .safetensors belongs.
  if (data[0] == 'P' && data[1] == 'K' && data[2] == 3 && data[3] == 4)
    fail(origin, "this is a PyTorch .pth/.pt archive (a zip), not a safetensors file; pass it as -weights to train, or "
                 "convert it with 'satx weights import'");
  if (data[0] == 0x89 && data[1] == 'H' && data[2] == 'D' && data[3] == 'F')
    fail(origin, "this is an HDF5 (Keras .h5) file, not a safetensors file; pass it as -weights to train, or convert "
                 "it with 'satx weights import'");
  const uint64_t header_length = read_le64(data);
  if (header_length > kMaxSafetensorsHeader)
    fail(origin, "header length " + std::to_string(header_length) + " exceeds the 100 MB limit");
  if (header_length > file_size - 8)
    fail(origin, "header length " + std::to_string(header_length) + " exceeds file size (" + std::to_string(file_size) + " bytes)");
  if (header_length > size - 8) fail(origin, "header is truncated");
  if (header_length < 2 || data[8] != '{') fail(origin, "header does not start with a JSON object");

  SafetensorsHeader header;
  header.data_offset = 8 + header_length;
  const uint64_t data_size = file_size - header.data_offset;
  const char* text = reinterpret_cast<const char*>(data + 8);
  json root = parse_json(text, text + header_length, origin);
  if (!root.is_object()) fail(origin, "header is not a JSON object");

  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(origin, "__metadata__ is not a JSON object");
      for (const auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string()) fail(origin, "__metadata__ value of '" + meta_key + "' is not a string");
        header.metadata[meta_key] = meta_value.get<std::string>();
      }
      continue;
    }
    header.tensors.push_back(parse_entry(key, value, data_size, origin));
  }

  std::stable_sort(header.tensors.begin(), header.tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // The format lays tensors end to end; a gap or an overlap means a corrupt or crafted file.
  uint64_t covered = 0;
  const TensorEntry* previous = nullptr;
  for (const auto& entry : header.tensors) {
    if (entry.begin < covered)
      fail(origin, "tensor '" + entry.name + "' overlaps tensor '" + (previous ? previous->name : "") + "'");
    if (entry.begin > covered)
      fail(origin, "bytes " + std::to_string(covered) + ".." + std::to_string(entry.begin) +
                       " of the data are not covered by any tensor (before '" + entry.name + "')");
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data_size)
    fail(origin, "tensors cover " + std::to_string(covered) + " of the " + std::to_string(data_size) +
                     " data bytes (truncated or padded file)");
  return header;
}

std::string encode_safetensors_header(const std::vector<TensorEntry>& entries,
                                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    root["__metadata__"] = std::move(meta);
  }
  for (const auto& entry : entries) {
    nlohmann::ordered_json item;
    item["dtype"] = entry.dtype;
    item["shape"] = entry.shape;
    item["data_offsets"] = {entry.begin, entry.end};
    root[entry.name] = std::move(item);
  }
  std::string text;
  try {
    text = root.dump();
  } catch (const nlohmann::json::exception& e) {
    throw_runtime(std::string("encoding a safetensors header: ") + e.what());
  }
  // Spaces are the padding the format allows; 8 + a multiple of 8 keeps the data aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t length = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return out + text;
}

}  // namespace satx::io
