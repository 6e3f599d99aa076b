#pragma once
/// File helpers every writer uses: atomic replacement, whole-file reads.

#include <cstdio>
#include <filesystem>
#include <string>

namespace satx {

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename. A kill
/// leaves either the old file or the new one, never half of one. Throws Runtime naming `path`.
void write_file_atomic(const std::filesystem::path& path, const std::string& bytes);

/// Reads a whole file; throws BadData naming `path` when it cannot be opened.
std::string read_file(const std::filesystem::path& path);

/// Streams into `<path>.tmp-<pid>` and renames onto `path` on commit(); the destructor
/// removes the temporary file when commit() was never called.
class AtomicFile {
 public:
  /// Opens the temporary file; throws Runtime naming `path` on failure.
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends bytes.
  void write(const void* data, size_t size);
  void write(const std::string& text) { write(text.data(), text.size()); }
  /// Flushes, fsyncs and renames onto the final path.
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path temporary_;
  std::FILE* file_ = nullptr;
};

}  // namespace satx
