#pragma once
// A reader for the uncompressed ("stored") zip archives torch.save writes: central directory,
// zip64 records, CRC-32 checks. Deflated entries are refused; torch never writes them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace satx::io::detail {

struct ZipEntry {
  std::string name;
  uint64_t local_header = 0;  // offset of the local file header
  uint64_t size = 0;          // uncompressed size
  uint64_t compressed_size = 0;
  uint16_t method = 0;        // 0 = stored
  uint16_t flags = 0;
  uint32_t crc32 = 0;
};

class ZipArchive {
 public:
  /// Indexes the archive in `data` (which must outlive this object). BadData prefixed by
  /// `origin` when it is not a well-formed zip archive.
  ZipArchive(const uint8_t* data, size_t size, std::string origin);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  /// The entry named `name`, or nullptr.
  const ZipEntry* find(const std::string& name) const;
  /// The bytes of a stored entry, CRC-checked once per call. BadData for compressed or
  /// encrypted entries and for entries that run past the end of the archive.
  const uint8_t* contents(const ZipEntry& entry, bool check_crc = true) const;

 private:
  const uint8_t* data_;
  size_t size_;
  std::string origin_;
  std::vector<ZipEntry> entries_;
};

/// Whether `data` starts like a zip archive ("PK\3\4", or an empty one's "PK\5\6").
bool looks_like_zip(const uint8_t* data, size_t size);

/// The CRC-32 (ISO-HDLC, as zip uses) of `size` bytes.
uint32_t crc32(const uint8_t* data, size_t size);

}  // namespace satx::io::detail
