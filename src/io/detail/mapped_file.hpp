#pragma once
// A read-only memory map of a whole file, so readers can copy tensors straight out of it
// without first holding the file in a second buffer.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace satx::io::detail {

class MappedFile {
 public:
  /// Maps `path`; BadData naming it when it cannot be opened or mapped. An empty file maps
  /// to size() == 0 and data() == nullptr.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace satx::io::detail
