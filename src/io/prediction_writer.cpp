#include "satx/io/prediction_writer.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "satx/core/error.hpp"

namespace fs = std::filesystem;

namespace satx::io {

namespace {

constexpr size_t kBufferBytes = 1 << 20;

std::string system_error() { return std::strerror(errno); }

// Opens for writing without truncating, cut to `keep` bytes, positioned at the end.
std::FILE* open_truncated(const fs::path& path, uint64_t keep) {
  std::FILE* file = std::fopen(path.c_str(), "r+b");
  if (!file) throw_runtime("cannot open " + path.string() + " to resume it: " + system_error());
  if (::ftruncate(fileno(file), static_cast<off_t>(keep)) != 0 || std::fseek(file, static_cast<long>(keep), SEEK_SET) != 0) {
    std::string why = system_error();
    std::fclose(file);
    throw_runtime("cannot cut " + path.string() + " to its complete records: " + why);
  }
  return file;
}

void sync(std::FILE* file, const fs::path& path) {
  if (std::fflush(file) != 0) throw_runtime("writing " + path.string() + ": " + system_error());
  // fdatasync fails with EINVAL on pipes and terminals; only files need it.
  if (::fdatasync(fileno(file)) != 0 && errno != EINVAL && errno != EROFS)
    throw_runtime("writing " + path.string() + ": " + system_error());
}

}  // namespace

PredictionWriter::PredictionWriter(fs::path path, OutputLayout layout, const OutputScan* resume)
    : path_(std::move(path)), layout_(std::move(layout)) {
  if (path_ == "-") {
    file_ = stdout;
    if (resume) throw_option("resume", "needs an output file, not stdout");
  } else {
    if (path_.has_parent_path()) fs::create_directories(path_.parent_path());
    owns_file_ = true;
    seekable_ = true;
    if (resume && resume->exists) {
      file_ = open_truncated(path_, resume->valid_bytes);
      features_ = resume->records;
    } else {
      file_ = std::fopen(path_.c_str(), "wb");
      if (!file_) throw_runtime("cannot create " + path_.string() + ": " + system_error());
    }
    std::setvbuf(file_, nullptr, _IOFBF, kBufferBytes);
  }
  const bool needs_header = !resume || resume->valid_bytes == 0;
  if (needs_header) {
    if (layout_.format == OutputFormat::Csv) put(csv_header(layout_));
    if (layout_.format == OutputFormat::GeoJson) put(kGeoJsonHeader);
  }
}

PredictionWriter::~PredictionWriter() {
  if (!file_) return;
  try {
    checkpoint(false);
  } catch (...) {
    // A destructor must not throw; finish() reports write errors.
  }
  if (owns_file_) std::fclose(file_);
}

void PredictionWriter::put(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size())
    throw_runtime("writing " + path_.string() + ": " + system_error());
}

void PredictionWriter::write(const PredictionRow& row) {
  if (layout_.format == OutputFormat::GeoJson && features_ > 0) put(",");
  put(format_record(row, layout_));
  ++features_;
  ++rows_;
}

void PredictionWriter::checkpoint(bool final) {
  const bool geojson = layout_.format == OutputFormat::GeoJson;
  if (geojson && (seekable_ || final)) put(kGeoJsonTrailer);
  sync(file_, path_);
  if (geojson && seekable_) {
    const long end = std::ftell(file_);
    if (final) {
      // Nothing may follow the closing line (a resumed file may have been longer).
      if (::ftruncate(fileno(file_), end) != 0) throw_runtime("writing " + path_.string() + ": " + system_error());
    } else if (std::fseek(file_, -static_cast<long>(std::strlen(kGeoJsonTrailer)), SEEK_CUR) != 0) {
      throw_runtime("writing " + path_.string() + ": " + system_error());
    }
  }
}

void PredictionWriter::flush() {
  if (file_) checkpoint(false);
}

void PredictionWriter::finish() {
  if (!file_) return;
  checkpoint(true);
  if (owns_file_ && std::fclose(file_) != 0) {
    file_ = nullptr;
    throw_runtime("closing " + path_.string() + ": " + system_error());
  }
  file_ = nullptr;
}

ErrorLog::ErrorLog(fs::path path, const OutputScan* resume) : path_(std::move(path)) {
  if (path_.empty()) return;
  resume_ = resume && resume->exists;
  if (resume_) {
    keep_bytes_ = resume->valid_bytes;
    // Cut a torn last line now, even if this run adds nothing.
    if (resume->file_bytes > keep_bytes_) file_ = open_truncated(path_, keep_bytes_);
  } else {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
}

ErrorLog::~ErrorLog() {
  if (!file_) return;
  std::fflush(file_);
  std::fclose(file_);
}

void ErrorLog::add(const ErrorEntry& entry) {
  ++count_;
  if (path_.empty()) return;
  if (!file_) {
    file_ = resume_ ? open_truncated(path_, keep_bytes_) : std::fopen(path_.c_str(), "wb");
    if (!file_) throw_runtime("cannot create " + path_.string() + ": " + system_error());
  }
  const std::string line = format_error_line(entry);
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size())
    throw_runtime("writing " + path_.string() + ": " + system_error());
}

void ErrorLog::flush() {
  if (file_) sync(file_, path_);
}

}  // namespace satx::io
