#include "io/detail/zip_archive.hpp"

#include <algorithm>
#include <array>

#include "satx/core/error.hpp"

namespace satx::io::detail {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentral = 0x06054b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr size_t kEndRecordSize = 22;
constexpr size_t kMaxCommentSize = 0xffff;

uint64_t le(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

// Bounds-checked little-endian field access within [0, size).
class Fields {
 public:
  Fields(const uint8_t* data, size_t size, const std::string& origin) : data_(data), size_(size), origin_(origin) {}
  uint64_t at(uint64_t offset, int bytes, const char* what) const {
    if (offset > size_ || static_cast<uint64_t>(bytes) > size_ - offset)
      throw_bad_data(origin_ + ": zip " + what + " lies past the end of the file (truncated download?)");
    return le(data_ + offset, bytes);
  }
  bool fits(uint64_t offset, uint64_t length) const { return offset <= size_ && length <= size_ - offset; }

 private:
  const uint8_t* data_;
  size_t size_;
  const std::string& origin_;
};

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size) {
  const auto& table = crc_table();
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

bool looks_like_zip(const uint8_t* data, size_t size) {
  return size >= 4 && data[0] == 'P' && data[1] == 'K' &&
         ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6));
}

ZipArchive::ZipArchive(const uint8_t* data, size_t size, std::string origin)
    : data_(data), size_(size), origin_(std::move(origin)) {
  Fields f(data_, size_, origin_);
  if (size_ < kEndRecordSize) throw_bad_data(origin_ + ": too short for a zip archive");

  // The end record sits in the last 22 bytes plus an optional comment of up to 64 KiB.
  uint64_t end_record = 0;
  bool found = false;
  const uint64_t lowest = size_ > kEndRecordSize + kMaxCommentSize ? size_ - kEndRecordSize - kMaxCommentSize : 0;
  for (uint64_t pos = size_ - kEndRecordSize + 1; pos-- > lowest;) {
    if (le(data_ + pos, 4) == kEndOfCentral) {
      end_record = pos;
      found = true;
      break;
    }
  }
  if (!found) throw_bad_data(origin_ + ": no zip end-of-central-directory record (truncated download?)");

  uint64_t count = f.at(end_record + 10, 2, "entry count");
  uint64_t directory_size = f.at(end_record + 12, 4, "directory size");
  uint64_t directory_offset = f.at(end_record + 16, 4, "directory offset");
  if (count == 0xffff || directory_size == 0xffffffff || directory_offset == 0xffffffff) {
    if (end_record < 20 || f.at(end_record - 20, 4, "zip64 locator") != kZip64Locator)
      throw_bad_data(origin_ + ": zip64 archive without a zip64 locator");
    const uint64_t zip64_end = f.at(end_record - 20 + 8, 8, "zip64 end offset");
    if (f.at(zip64_end, 4, "zip64 end record") != kZip64End) throw_bad_data(origin_ + ": bad zip64 end record");
    count = f.at(zip64_end + 32, 8, "zip64 entry count");
    directory_size = f.at(zip64_end + 40, 8, "zip64 directory size");
    directory_offset = f.at(zip64_end + 48, 8, "zip64 directory offset");
  }
  if (!f.fits(directory_offset, directory_size))
    throw_bad_data(origin_ + ": zip central directory lies past the end of the file (truncated download?)");
  // Each central header is at least 46 bytes; a larger count is a lie, not a reason to allocate.
  if (count > directory_size / 46) throw_bad_data(origin_ + ": zip entry count does not fit its directory");

  entries_.reserve(count);
  uint64_t pos = directory_offset;
  for (uint64_t i = 0; i < count; ++i) {
    if (f.at(pos, 4, "central header") != kCentralHeader) throw_bad_data(origin_ + ": corrupt zip central directory");
    ZipEntry entry;
    entry.flags = static_cast<uint16_t>(f.at(pos + 8, 2, "flags"));
    entry.method = static_cast<uint16_t>(f.at(pos + 10, 2, "method"));
    entry.crc32 = static_cast<uint32_t>(f.at(pos + 16, 4, "crc"));
    entry.compressed_size = f.at(pos + 20, 4, "size");
    entry.size = f.at(pos + 24, 4, "size");
    const uint64_t name_length = f.at(pos + 28, 2, "name length");
    const uint64_t extra_length = f.at(pos + 30, 2, "extra length");
    const uint64_t comment_length = f.at(pos + 32, 2, "comment length");
    entry.local_header = f.at(pos + 42, 4, "local header offset");
    if (!f.fits(pos + 46, name_length + extra_length + comment_length))
      throw_bad_data(origin_ + ": corrupt zip central directory");
    entry.name.assign(reinterpret_cast<const char*>(data_ + pos + 46), name_length);

    // Zip64 extra field: only the fields saturated in the fixed header are present, in order.
    uint64_t extra = pos + 46 + name_length;
    const uint64_t extra_end = extra + extra_length;
    while (extra + 4 <= extra_end) {
      const uint64_t id = le(data_ + extra, 2);
      const uint64_t length = le(data_ + extra + 2, 2);
      if (extra + 4 + length > extra_end) break;
      if (id == 0x0001) {
        uint64_t field = extra + 4;
        auto take = [&](uint64_t& value) {
          if (value != 0xffffffff) return;
          if (field + 8 > extra + 4 + length) throw_bad_data(origin_ + ": corrupt zip64 extra field");
          value = le(data_ + field, 8);
          field += 8;
        };
        take(entry.size);
        take(entry.compressed_size);
        take(entry.local_header);
      }
      extra += 4 + length;
    }
    pos += 46 + name_length + extra_length + comment_length;
    entries_.push_back(std::move(entry));
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const ZipEntry& e) { return e.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

const uint8_t* ZipArchive::contents(const ZipEntry& entry, bool check_crc) const {
  Fields f(data_, size_, origin_);
  const std::string where = origin_ + ": zip entry '" + entry.name + "'";
  if (entry.flags & 1) throw_bad_data(where + " is encrypted");
  if (entry.method != 0)
    throw_bad_data(where + " is compressed (method " + std::to_string(entry.method) +
                   "); satx reads the uncompressed archives torch.save writes");
  if (entry.compressed_size != entry.size) throw_bad_data(where + " has inconsistent sizes");
  if (f.at(entry.local_header, 4, "local header") != kLocalHeader) throw_bad_data(where + " has no local header");
  const uint64_t name_length = f.at(entry.local_header + 26, 2, "name length");
  const uint64_t extra_length = f.at(entry.local_header + 28, 2, "extra length");
  const uint64_t start = entry.local_header + 30 + name_length + extra_length;
  if (!f.fits(start, entry.size)) throw_bad_data(where + " runs past the end of the file (truncated download?)");
  if (check_crc && crc32(data_ + start, entry.size) != entry.crc32)
    throw_bad_data(where + " fails its CRC-32 check (corrupt file)");
  return data_ + start;
}

}  // namespace satx::io::detail
