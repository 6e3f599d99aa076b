// Writes a seed corpus for fuzz_safetensors_header: valid files of several shapes and dtypes.
// Usage: fuzz_safetensors_seeds DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "satx/io/safetensors_header.hpp"

namespace {

void write_seed(const std::filesystem::path& path, const std::vector<satx::io::TensorEntry>& specs,
                const std::map<std::string, std::string>& metadata) {
  std::vector<satx::io::TensorEntry> entries;
  uint64_t offset = 0;
  for (auto entry : specs) {
    uint64_t bytes = satx::io::safetensors_dtype_size(entry.dtype);
    for (int64_t dim : entry.shape) bytes *= static_cast<uint64_t>(dim);
    entry.begin = offset;
    entry.end = offset + bytes;
    offset = entry.end;
    entries.push_back(entry);
  }
  std::ofstream out(path, std::ios::binary);
  out << satx::io::encode_safetensors_header(entries, metadata);
  for (uint64_t i = 0; i < offset; ++i) out.put(static_cast<char>(i * 37 + 1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  write_seed(dir / "empty", {}, {});
  write_seed(dir / "metadata_only", {}, {{"satx", R"({"arch":"mobilenetv2","classes":["a","b"]})"}, {"format", "pt"}});
  write_seed(dir / "one_f32", {{"w", "F32", {2, 3}}}, {});
  write_seed(dir / "mixed", {{"conv.weight", "F16", {4, 1, 3, 3}}, {"bn.num_batches_tracked", "I64", {}},
                             {"mask", "BOOL", {5}}, {"empty", "BF16", {0, 7}}, {"ids", "U8", {3}}},
             {{"note", "seed"}});
  write_seed(dir / "wide", {{"a", "F64", {1}}, {"b", "I32", {2, 2}}, {"c", "I16", {3}}, {"d", "I8", {1, 1, 1, 1}},
                            {"e", "U16", {2}}, {"f", "F8_E4M3", {4}}},
             {});
  return 0;
}
