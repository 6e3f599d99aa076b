#pragma once
/// Streaming prediction writers: rows go out as they are scored, flushed at checkpoints so a
/// crash loses at most the rows since the last one, and resumable after a kill.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "satx/io/prediction_format.hpp"
#include "satx/io/prediction_reader.hpp"

namespace satx::io {

/// Writes predictions to a file ("-": stdout) in the layout's format.
///
/// GeoJSON stays a valid document at every checkpoint: flush() writes the closing line and
/// steps back over it, so the next feature overwrites it. A run killed between checkpoints
/// leaves a torn tail that `-resume` (scan_output) cuts off before continuing.
class PredictionWriter {
 public:
  /// Creates `path` (replacing it), or with `resume` continues it: the file is cut to
  /// `resume->valid_bytes` and rows are appended (a header is written when none was complete).
  /// Runtime error naming the path when it cannot be opened.
  PredictionWriter(std::filesystem::path path, OutputLayout layout, const OutputScan* resume = nullptr);
  /// Flushes (GeoJSON: with the closing line) and closes; errors are swallowed here, so call
  /// finish() to see them.
  ~PredictionWriter();
  PredictionWriter(const PredictionWriter&) = delete;
  PredictionWriter& operator=(const PredictionWriter&) = delete;

  /// Appends one row (buffered).
  void write(const PredictionRow& row);
  /// A checkpoint: every row written so far reaches the file (fflush + fdatasync).
  void flush();
  /// The final checkpoint; closes the file.
  void finish();
  /// Rows written by this writer (not counting rows kept from a resumed file).
  int64_t rows_written() const { return rows_; }
  /// The layout rows follow.
  const OutputLayout& layout() const { return layout_; }

 private:
  void put(const std::string& text);
  void checkpoint(bool final);

  std::filesystem::path path_;
  OutputLayout layout_;
  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  bool seekable_ = false;
  int64_t features_ = 0;  // GeoJSON features in the file, to place separators
  int64_t rows_ = 0;
};

/// `<output>.errors`: one line per tile that could not be scored (path, tab, reason). The
/// file is created on the first entry; a fresh run removes a stale one.
class ErrorLog {
 public:
  /// `path` empty: entries are only counted. With `resume`, the log is cut to its complete
  /// lines and continued; otherwise an existing log is removed.
  ErrorLog(std::filesystem::path path, const OutputScan* resume = nullptr);
  ~ErrorLog();
  ErrorLog(const ErrorLog&) = delete;
  ErrorLog& operator=(const ErrorLog&) = delete;

  /// Records one unreadable tile.
  void add(const ErrorEntry& entry);
  /// A checkpoint, as PredictionWriter::flush.
  void flush();
  /// Entries added by this run.
  int64_t count() const { return count_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  uint64_t keep_bytes_ = 0;
  bool resume_ = false;
  std::FILE* file_ = nullptr;
  int64_t count_ = 0;
};

}  // namespace satx::io
