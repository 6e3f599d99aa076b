#pragma once
// Streaming readers for the line-oriented prediction files, tracking byte offsets so a torn
// tail (a record cut by a kill) can be told apart and truncated.

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace satx::io::detail {

/// What a read produced.
enum class ReadStatus {
  Record,  ///< a complete record (terminated by LF)
  End,     ///< clean end of input
  Torn,    ///< input ended inside a record
};

/// RFC 4180 records (quoted fields may hold commas, quotes and newlines); CRLF accepted.
class CsvRecordReader {
 public:
  explicit CsvRecordReader(std::istream& in) : in_(in) {}
  /// Reads the next record into `fields`.
  ReadStatus next(std::vector<std::string>& fields);
  /// Bytes consumed through the end of the last complete record.
  uint64_t offset() const { return offset_; }

 private:
  std::istream& in_;
  uint64_t offset_ = 0;
};

/// LF-terminated lines.
class LineReader {
 public:
  explicit LineReader(std::istream& in) : in_(in) {}
  /// Reads the next line (without its LF, and without a trailing CR).
  ReadStatus next(std::string& line);
  /// Bytes consumed through the end of the last complete line.
  uint64_t offset() const { return offset_; }

 private:
  std::istream& in_;
  uint64_t offset_ = 0;
};

}  // namespace satx::io::detail
