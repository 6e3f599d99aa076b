#include "satx/train/tensorboard.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <unistd.h>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"

namespace fs = std::filesystem;

namespace satx::train {

namespace {

// Reflected Castagnoli polynomial.
std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    table[i] = crc;
  }
  return table;
}

// Protobuf wire format: just the pieces Event and Summary need.
void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_tag(std::string& out, int field, int wire_type) { put_varint(out, (static_cast<uint64_t>(field) << 3) | wire_type); }

template <typename T>
void put_fixed(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts only, as TensorBoard itself assumes
  out.append(bytes, sizeof(T));
}

void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
std::string encode_event(double wall_time, int64_t step, const std::string* file_version, const std::string* summary) {
  std::string event;
  put_tag(event, 1, 1);
  put_fixed<double>(event, wall_time);
  if (step != 0) {
    put_tag(event, 2, 0);
    put_varint(event, static_cast<uint64_t>(step));
  }
  if (file_version) put_bytes(event, 3, *file_version);
  if (summary) put_bytes(event, 5, *summary);
  return event;
}

// A bounds-checked protobuf reader over one message.
class WireReader {
 public:
  WireReader(const std::string& bytes, std::string origin) : data_(bytes), origin_(std::move(origin)) {}
  bool done() const { return pos_ >= data_.size(); }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) fail("truncated varint");
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return value;
    }
    fail("varint too long");
  }
  template <typename T>
  T fixed() {
    if (data_.size() - pos_ < sizeof(T)) fail("truncated fixed-width field");
    T value;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string bytes() {
    const uint64_t size = varint();
    if (size > data_.size() - pos_) fail("length-delimited field exceeds its message");
    std::string value = data_.substr(pos_, size);
    pos_ += size;
    return value;
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0: varint(); break;
      case 1: fixed<uint64_t>(); break;
      case 2: bytes(); break;
      case 5: fixed<uint32_t>(); break;
      default: fail("unsupported wire type " + std::to_string(wire_type));
    }
  }
  [[noreturn]] void fail(const std::string& why) const { throw_bad_data(origin_ + ": " + why); }

 private:
  const std::string& data_;
  size_t pos_ = 0;
  std::string origin_;
};

void parse_summary(const std::string& summary, const std::string& origin, double wall_time, int64_t step,
                   std::vector<ScalarEvent>& out) {
  WireReader reader(summary, origin);
  while (!reader.done()) {
    const uint64_t key = reader.varint();
    if ((key >> 3) != 1 || (key & 7) != 2) {
      reader.skip(static_cast<int>(key & 7));
      continue;
    }
    const std::string value_bytes = reader.bytes();
    WireReader value(value_bytes, origin);
    ScalarEvent event;
    event.wall_time = wall_time;
    event.step = step;
    bool has_scalar = false;
    while (!value.done()) {
      const uint64_t field_key = value.varint();
      const int field = static_cast<int>(field_key >> 3), wire = static_cast<int>(field_key & 7);
      if (field == 1 && wire == 2) {
        event.tag = value.bytes();
      } else if (field == 2 && wire == 5) {
        event.value = value.fixed<float>();
        has_scalar = true;
      } else {
        value.skip(wire);
      }
    }
    if (has_scalar) out.push_back(std::move(event));
  }
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  const double now = now_seconds();
  // Seconds plus the pid keep two writers started in the same second (a quick resume) apart.
  path_ = dir / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(now)) + "." + host + "." +
                 std::to_string(::getpid()));
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw_runtime("writing " + path_.string() + ": " + std::strerror(errno));
  const std::string version = "brain.Event:2";
  write_record(encode_event(now, 0, &version, nullptr));
  flush();
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::add_scalar(const std::string& tag, double value, int64_t step, double wall_time) {
  // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
  std::string summary_value;
  put_bytes(summary_value, 1, tag);
  put_tag(summary_value, 2, 5);
  put_fixed<float>(summary_value, static_cast<float>(value));
  std::string summary;
  put_bytes(summary, 1, summary_value);
  write_record(encode_event(wall_time > 0 ? wall_time : now_seconds(), step, nullptr, &summary));
}

void EventWriter::flush() {
  if (std::fflush(file_) != 0) throw_runtime("writing " + path_.string() + ": " + std::strerror(errno));
}

void EventWriter::write_record(const std::string& payload) {
  // TFRecord: uint64 length, masked crc of the length, the data, masked crc of the data.
  std::string record;
  const uint64_t length = payload.size();
  put_fixed<uint64_t>(record, length);
  put_fixed<uint32_t>(record, masked_crc32c(record.data(), sizeof length));
  record += payload;
  put_fixed<uint32_t>(record, masked_crc32c(payload.data(), payload.size()));
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw_runtime("writing " + path_.string() + ": " + std::strerror(errno));
}

std::vector<ScalarEvent> read_scalar_events(const fs::path& path, std::string* file_version) {
  const std::string bytes = read_file(path);
  std::vector<ScalarEvent> events;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const std::string where = "reading " + path.string() + " at byte " + std::to_string(pos);
    if (bytes.size() - pos < 12) throw_bad_data(where + ": truncated record header");
    uint64_t length;
    uint32_t length_crc;
    std::memcpy(&length, bytes.data() + pos, 8);
    std::memcpy(&length_crc, bytes.data() + pos + 8, 4);
    if (length_crc != masked_crc32c(bytes.data() + pos, 8)) throw_bad_data(where + ": length CRC mismatch");
    if (length > bytes.size() - pos - 12 || bytes.size() - pos - 12 - length < 4)
      throw_bad_data(where + ": record runs past the end of the file");
    const std::string payload = bytes.substr(pos + 12, length);
    uint32_t data_crc;
    std::memcpy(&data_crc, bytes.data() + pos + 12 + length, 4);
    if (data_crc != masked_crc32c(payload.data(), payload.size())) throw_bad_data(where + ": data CRC mismatch");
    pos += 12 + length + 4;

    WireReader event(payload, where);
    double wall_time = 0;
    int64_t step = 0;
    std::string summary;
    bool has_summary = false;
    while (!event.done()) {
      const uint64_t key = event.varint();
      const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
      if (field == 1 && wire == 1) wall_time = event.fixed<double>();
      else if (field == 2 && wire == 0) step = static_cast<int64_t>(event.varint());
      else if (field == 3 && wire == 2) {
        std::string version = event.bytes();
        if (file_version) *file_version = version;
      } else if (field == 5 && wire == 2) {
        summary = event.bytes();
        has_summary = true;
      } else {
        event.skip(wire);
      }
    }
    if (has_summary) parse_summary(summary, where, wall_time, step, events);
  }
  return events;
}

std::vector<fs::path> list_event_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace satx::train
