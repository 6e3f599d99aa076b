#include "satx/io/prediction_reader.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/detail/record_reader.hpp"
#include "satx/core/error.hpp"
#include "satx/core/files.hpp"

namespace fs = std::filesystem;

namespace satx::io {

namespace {

using detail::ReadStatus;

std::string unescape_field(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char next = text[++i];
    out += next == 't' ? '\t' : next == 'n' ? '\n' : next == 'r' ? '\r' : next;
  }
  return out;
}

std::string escape_field(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

// Tracks the "only the tail may be broken" rule shared by every format.
class TailGuard {
 public:
  explicit TailGuard(const fs::path& path) : path_(path) {}
  // A record that failed to parse at `line`; later valid records make the file corrupt.
  void broken(int64_t line, const std::string& why) {
    if (!broken_line_) {
      broken_line_ = line;
      why_ = why;
    }
  }
  bool is_broken() const { return broken_line_ != 0; }
  [[noreturn]] void valid_after_broken() const {
    throw_bad_data("reading " + path_.string() + ": line " + std::to_string(broken_line_) + " is malformed (" + why_ +
                   ") but complete records follow it; the file was not written by an interrupted satx run, so "
                   "-resume cannot continue it safely (fix or remove the line)");
  }

 private:
  fs::path path_;
  int64_t broken_line_ = 0;
  std::string why_;
};

std::ifstream open_input(const fs::path& path, OutputScan& scan) {
  std::error_code error;
  scan.exists = fs::exists(path, error);
  if (!scan.exists) return {};
  scan.file_bytes = fs::file_size(path, error);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_bad_data("reading " + path.string() + ": cannot open it");
  return in;
}

void scan_csv(std::istream& in, const fs::path& path, OutputScan& scan,
              const std::function<void(StoredRecord&&)>& on_record) {
  detail::CsvRecordReader reader(in);
  std::vector<std::string> fields;
  if (reader.next(fields) != ReadStatus::Record) return;  // no complete header: start afresh
  if (fields.size() < 3 || fields[0] != "path" || fields[1] != "label")
    throw_bad_data("reading " + path.string() + ": not a satx prediction CSV (its header does not start with path,label)");
  const size_t columns = fields.size();
  scan.valid_bytes = reader.offset();
  // The header is rebuilt from the parsed fields so callers can compare it with csv_header().
  std::string header;
  for (size_t i = 0; i < fields.size(); ++i) header += (i ? "," : "") + csv_field(fields[i]);
  scan.header = header + '\n';

  TailGuard guard(path);
  int64_t line = 1;
  for (;;) {
    const ReadStatus status = reader.next(fields);
    if (status != ReadStatus::Record) break;
    ++line;
    if (fields.size() != columns || fields[0].empty()) {
      guard.broken(line, std::to_string(fields.size()) + " fields, expected " + std::to_string(columns));
    } else if (guard.is_broken()) {
      guard.valid_after_broken();
    } else {
      scan.valid_bytes = reader.offset();
      ++scan.records;
      if (on_record) {
        // satx quotes exactly as csv_field does, so re-joining reproduces the stored bytes.
        std::string text;
        for (size_t i = 0; i < fields.size(); ++i) text += (i ? "," : "") + csv_field(fields[i]);
        on_record(StoredRecord{std::move(fields[0]), std::move(fields[1]), text + '\n'});
      }
    }
  }
}

// JSONL and GeoJSON share the line structure; GeoJSON adds the header line, comma prefixes
// and the closing line.
void scan_json_lines(std::istream& in, const fs::path& path, OutputFormat format, OutputScan& scan,
                     const std::function<void(StoredRecord&&)>& on_record) {
  detail::LineReader reader(in);
  std::string line_text;
  int64_t line = 0;
  if (format == OutputFormat::GeoJson) {
    if (reader.next(line_text) != ReadStatus::Record) return;  // no complete header: start afresh
    ++line;
    if (line_text + '\n' != kGeoJsonHeader)
      throw_bad_data("reading " + path.string() +
                     ": not a satx GeoJSON output (its first line is not the FeatureCollection header satx writes)");
    scan.valid_bytes = reader.offset();
  }
  TailGuard guard(path);
  for (;;) {
    if (reader.next(line_text) != ReadStatus::Record) break;
    ++line;
    if (format == OutputFormat::GeoJson && line_text + '\n' == kGeoJsonTrailer) {
      scan.closed = !guard.is_broken();
      break;
    }
    std::string_view body(line_text);
    if (format == OutputFormat::GeoJson && scan.records > 0) {
      if (body.empty() || body.front() != ',') {
        guard.broken(line, "no separating comma");
        continue;
      }
      body.remove_prefix(1);
    }
    nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    const nlohmann::json* members = &parsed;
    if (format == OutputFormat::GeoJson && parsed.is_object() && parsed.contains("properties"))
      members = &parsed["properties"];
    const std::string shape = members->is_object() ? record_shape(*members) : std::string();
    if (shape.empty() || (!scan.shape.empty() && shape != scan.shape)) {
      // satx writes whole lines, so a complete first line that is not one of its records means
      // another program wrote the file: resuming would replace it.
      if (scan.records == 0 && !guard.is_broken())
        throw_bad_data("reading " + path.string() + ": not a satx " + format_name(format) + " prediction output (line " +
                       std::to_string(line) + " is not a prediction record); satx leaves it alone");
      guard.broken(line, shape.empty() ? "not a prediction object" : "its keys differ from the first record's");
      continue;
    }
    if (guard.is_broken()) guard.valid_after_broken();
    if (scan.records == 0) scan.shape = shape;
    scan.valid_bytes = reader.offset();
    ++scan.records;
    if (on_record)
      on_record(StoredRecord{(*members)["path"].get<std::string>(), (*members)["label"].get<std::string>(),
                             std::string(body) + '\n'});
  }
}

}  // namespace

std::string record_shape(const nlohmann::json& members) {
  if (!members.contains("path") || !members["path"].is_string() || !members.contains("label") ||
      !members["label"].is_string() || !members.contains("score"))
    return {};
  if (members.contains("top") && members["top"].is_array()) return "top:" + std::to_string(members["top"].size());
  if (!members.contains("probabilities") || !members["probabilities"].is_object()) return {};
  std::string shape = "probabilities";
  for (const auto& item : members["probabilities"].items()) shape += ':' + item.key();
  return shape;
}

std::string record_shape(const OutputLayout& layout) {
  if (layout.topk > 0)
    return "top:" + std::to_string(std::min(static_cast<size_t>(layout.topk), layout.classes.size()));
  // nlohmann::json keeps object keys sorted, so the expected shape sorts them too.
  std::vector<std::string> classes = layout.classes;
  std::sort(classes.begin(), classes.end());
  std::string shape = "probabilities";
  for (const auto& name : classes) shape += ':' + name;
  return shape;
}

OutputScan scan_output(const fs::path& path, OutputFormat format, const std::function<void(StoredRecord&&)>& on_record) {
  OutputScan scan;
  std::ifstream in = open_input(path, scan);
  if (!scan.exists) return scan;
  if (format == OutputFormat::Csv)
    scan_csv(in, path, scan, on_record);
  else
    scan_json_lines(in, path, format, scan, on_record);
  return scan;
}

std::string format_error_line(const ErrorEntry& entry) {
  return escape_field(entry.path) + '\t' + escape_field(entry.reason) + '\n';
}

OutputScan scan_error_log(const fs::path& path, const std::function<void(ErrorEntry&&)>& on_entry) {
  OutputScan scan;
  std::ifstream in = open_input(path, scan);
  if (!scan.exists) return scan;
  detail::LineReader reader(in);
  std::string line;
  while (reader.next(line) == ReadStatus::Record) {
    scan.valid_bytes = reader.offset();
    ++scan.records;
    const size_t tab = line.find('\t');
    if (on_entry)
      on_entry(ErrorEntry{unescape_field(line.substr(0, tab)), tab == std::string::npos ? "" : unescape_field(line.substr(tab + 1))});
  }
  return scan;
}

int64_t read_csv_rows(const fs::path& path, const std::function<void(std::vector<std::string>&)>& on_row) {
  std::string text = read_file(path);
  // A hand-written file may lack the final newline; its last row still counts.
  if (!text.empty() && text.back() != '\n') text += '\n';
  std::istringstream in(std::move(text));
  detail::CsvRecordReader reader(in);
  std::vector<std::string> fields;
  int64_t rows = 0;
  while (reader.next(fields) == ReadStatus::Record) {
    ++rows;
    on_row(fields);
  }
  return rows;
}

fs::path error_log_path(const fs::path& output) { return fs::path(output.string() + ".errors"); }

}  // namespace satx::io
