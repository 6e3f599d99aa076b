#pragma once
/// File helpers every writer uses: atomic replacement, whole-file reads, output locks.

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

namespace satx {

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename. A kill
/// leaves either the old file or the new one, never half of one. Throws Runtime naming `path`.
void write_file_atomic(const std::filesystem::path& path, const std::string& bytes);

/// Appends `bytes` to `path` (created when missing) and fsyncs, for logs that must survive a
/// kill line by line (metrics.jsonl, tune's journal). Throws Runtime naming `path`.
void append_file_synced(const std::filesystem::path& path, const std::string& bytes);

/// Reads a whole file; throws BadData naming `path` when it cannot be opened.
std::string read_file(const std::filesystem::path& path);

/// Streams into `<path>.tmp-<pid>` and renames onto `path` on commit(); the destructor
/// removes the temporary file when commit() was never called.
class AtomicFile {
 public:
  /// Opens the temporary file; throws Runtime naming `path` on failure, Usage when `path` is
  /// a folder or a special file (device, FIFO, socket) that the rename would replace.
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

/// What walk_tree found at a path.
enum class TreeEntry {
  File,        ///< anything that is not a folder: files, special files, dangling or looping links
  Hidden,      ///< a name starting with '.' (a hidden folder is not entered)
  Unlistable,  ///< a subfolder that cannot be listed (no permission): reported, never silently skipped
};

/// Visits every entry under `root` at any depth (folder symlinks are not followed), in
/// directory order. Throws BadData naming `root` when `root` itself cannot be listed.
void walk_tree(const std::filesystem::path& root, const std::function<void(const std::filesystem::path&, TreeEntry)>& visit);

/// Whether `path` should not be rewritten: this process may not write it, or it has no write
/// permission bit at all (root may write anything; a chmod a-w file still means "keep").
bool is_read_only(const std::filesystem::path& path);

/// An exclusive advisory lock (flock) on a file or folder, held until destruction, so two satx
/// processes never write the same output. A missing file is created empty (the writer then
/// opens the same inode); a path that is not a regular file or folder (stdout, a FIFO,
/// /dev/null) is not locked. Throws Usage naming `path` when another process holds the lock.
class FileLock {
 public:
  /// `what` names the path in the error ("the output", "the run folder").
  FileLock(const std::filesystem::path& path, const std::string& what);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace satx
