#pragma once
/// SHA-256 through OpenSSL's EVP interface: identifying weight files by their published digests.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace satx {

/// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  /// The digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();
  /// Lower-case hex of finish().
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

/// Lower-case hex SHA-256 of bytes.
std::string sha256_hex(const void* data, size_t size);

/// Lower-case hex SHA-256 of a file's contents; BadData naming `path` when unreadable.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace satx
