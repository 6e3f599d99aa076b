#pragma once
/// TensorBoard event files without TensorFlow: TFRecord framing (masked CRC32C) around
/// hand-encoded Event/Summary protobufs holding scalars.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace satx::train {

/// CRC32C (Castagnoli) of `size` bytes.
uint32_t crc32c(const void* data, size_t size);

/// TFRecord's masked CRC: rotate right by 15 and add 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t size);

/// Appends scalar summaries to `<dir>/events.out.tfevents.<time>.<host>` (a new file per
/// writer, as TensorBoard expects; it merges every file in the folder).
class EventWriter {
 public:
  /// Creates the file and writes the version record; Runtime error naming it on failure.
  explicit EventWriter(const std::filesystem::path& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  /// One scalar (`tag`, e.g. "full/val_accuracy") at `step`; `wall_time` in seconds since the epoch (0 = now).
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time = 0);
  /// Flushes buffered records to the file.
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& payload);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

/// One scalar read back from an event file.
struct ScalarEvent {
  double wall_time = 0;
  int64_t step = 0;
  std::string tag;
  float value = 0;
};

/// Reads every scalar of an event file, checking each record's length and data CRCs.
/// BadData naming the file and the record offset when the framing or a protobuf is malformed.
/// `file_version` receives the version record's string when given.
std::vector<ScalarEvent> read_scalar_events(const std::filesystem::path& path, std::string* file_version = nullptr);

/// Event files in `dir`, sorted by name (= creation time).
std::vector<std::filesystem::path> list_event_files(const std::filesystem::path& dir);

}  // namespace satx::train
