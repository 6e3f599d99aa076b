#include "io/detail/record_reader.hpp"

namespace satx::io::detail {

ReadStatus CsvRecordReader::next(std::vector<std::string>& fields) {
  fields.clear();
  std::streambuf* buffer = in_.rdbuf();
  std::string field;
  bool quoted = false;       // inside a quoted field
  bool any = false;          // consumed at least one byte of this record
  uint64_t consumed = 0;
  for (;;) {
    const int c = buffer->sbumpc();
    if (c == std::char_traits<char>::eof()) return any ? ReadStatus::Torn : ReadStatus::End;
    ++consumed;
    any = true;
    const char ch = static_cast<char>(c);
    if (quoted) {
      if (ch == '"') {
        if (buffer->sgetc() == '"') {
          buffer->sbumpc();
          ++consumed;
          field += '"';
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
      continue;
    }
    if (ch == '"' && field.empty()) {
      quoted = true;
    } else if (ch == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (ch == '\n') {
      if (!field.empty() && field.back() == '\r') field.pop_back();
      fields.push_back(std::move(field));
      offset_ += consumed;
      return ReadStatus::Record;
    } else {
      field += ch;
    }
  }
}

ReadStatus LineReader::next(std::string& line) {
  line.clear();
  std::streambuf* buffer = in_.rdbuf();
  uint64_t consumed = 0;
  for (;;) {
    const int c = buffer->sbumpc();
    if (c == std::char_traits<char>::eof()) return consumed ? ReadStatus::Torn : ReadStatus::End;
    ++consumed;
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      offset_ += consumed;
      return ReadStatus::Record;
    }
    line += static_cast<char>(c);
  }
}

}  // namespace satx::io::detail
