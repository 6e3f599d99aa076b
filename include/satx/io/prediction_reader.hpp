#pragma once
/// Reading prediction outputs and error logs back: for `predict -resume` (which tiles are
/// done, where the complete part of a file ends) and for `predict-merge`.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "satx/io/prediction_format.hpp"

namespace satx::io {

/// One complete record of a prediction output.
struct StoredRecord {
  std::string path;   ///< the tile path as written
  std::string label;  ///< the predicted label as written
  std::string text;   ///< the record as stored, with its LF (GeoJSON: without the separating comma)
};

/// What reading an output found.
struct OutputScan {
  bool exists = false;
  /// The CSV header line (with LF) when one is complete; empty otherwise.
  std::string header;
  /// Length of the prefix made of the header and complete records; everything after it
  /// (a torn record, a GeoJSON trailer) is dropped on resume.
  uint64_t valid_bytes = 0;
  /// Size of the file.
  uint64_t file_bytes = 0;
  int64_t records = 0;
  /// Whether a GeoJSON file ended with its closing line (a finished run).
  bool closed = false;
  /// JSONL/GeoJSON: record_shape of the first record (every later one must match); empty otherwise.
  std::string shape;
};

/// What a JSON prediction record holds beyond path, label and score: "probabilities:<sorted
/// class names>" or "top:<K>"; empty when `members` is not a prediction record.
std::string record_shape(const nlohmann::json& members);

/// The record_shape every JSON record of `layout` has.
std::string record_shape(const OutputLayout& layout);

/// Reads `path` as `format`, calling `on_record` (may be empty) for every complete record in
/// file order. The records end at the first incomplete or unparsable one, which must be the
/// last thing in the file: a malformed record followed by a valid one is BadData naming the
/// file and line (the file was changed by something other than satx), and so is a JSON file
/// whose first complete line is not a prediction record (a file satx did not write).
OutputScan scan_output(const std::filesystem::path& path, OutputFormat format,
                       const std::function<void(StoredRecord&&)>& on_record);

/// One line of an error log (`<output>.errors`): the tile and why it was not scored.
struct ErrorEntry {
  std::string path;
  std::string reason;
};

/// The error-log line for `entry` (tab-separated; backslash, tab, CR and LF escaped as
/// \\ \t \r \n so every entry is one line), with its LF.
std::string format_error_line(const ErrorEntry& entry);

/// Reads an error log; a torn last line is left out of valid_bytes.
OutputScan scan_error_log(const std::filesystem::path& path, const std::function<void(ErrorEntry&&)>& on_entry);

/// Reads the CSV at `path` (RFC 4180, as csv_field writes it; CRLF accepted), calling `on_row`
/// with the fields of every record, the header first (a last row without its newline counts);
/// returns how many there were.
/// BadData naming `path` when it cannot be opened. For satx's other CSV files (eval's
/// -predictions, a tuning leaderboard).
int64_t read_csv_rows(const std::filesystem::path& path, const std::function<void(std::vector<std::string>&)>& on_row);

/// The error log that belongs to an output: `<output>.errors`.
std::filesystem::path error_log_path(const std::filesystem::path& output);

}  // namespace satx::io
