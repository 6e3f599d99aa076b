#include "satx/core/files.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "satx/core/error.hpp"

namespace fs = std::filesystem;

namespace satx {

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)) {
  // The rename at commit would replace a device, FIFO or socket by a regular file (as root,
  // /dev/null itself): such a target is refused, as is a folder.
  std::error_code status_error;
  const fs::file_status status = fs::status(path_, status_error);
  if (fs::is_directory(status)) throw_usage("writing " + path_.string() + ": is a folder; name a file");
  if (fs::exists(status) && !fs::is_regular_file(status))
    throw_usage("writing " + path_.string() + ": is a device, FIFO or socket, not a regular file; name a file");
  if (path_.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path_.parent_path(), ec);
  }
  temporary_ = path_;
  temporary_ += ".tmp-" + std::to_string(::getpid());
  file_ = std::fopen(temporary_.c_str(), "wb");
  if (!file_) throw_runtime("writing " + path_.string() + ": " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::error_code ignored;
    fs::remove(temporary_, ignored);
  }
}

void AtomicFile::write(const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw_runtime("writing " + path_.string() + ": " + std::strerror(errno));
}

void AtomicFile::commit() {
  // fsync before rename so a crash right after cannot expose an empty file under the final name.
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
    throw_runtime("writing " + path_.string() + ": " + std::strerror(errno));
  std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  fs::rename(temporary_, path_, ec);
  if (ec) {
    fs::remove(temporary_, ec);
    throw_runtime("renaming onto " + path_.string() + ": " + ec.message());
  }
}

void write_file_atomic(const fs::path& path, const std::string& bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

void append_file_synced(const std::filesystem::path& path, const std::string& bytes) {
  std::FILE* out = std::fopen(path.c_str(), "ab");
  if (!out) throw_runtime("writing " + path.string() + ": " + std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size() && std::fflush(out) == 0 &&
                  ::fsync(fileno(out)) == 0;
  const int error = errno;
  std::fclose(out);
  if (!ok) throw_runtime("writing " + path.string() + ": " + std::strerror(error));
}

std::string read_file(const fs::path& path) {
  std::error_code error;
  // A folder opens as a stream on Linux and reads as empty: refuse it by name instead.
  if (fs::is_directory(path, error)) throw_bad_data("reading " + path.string() + ": is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_bad_data("reading " + path.string() + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

namespace {

void walk_folder(const fs::path& folder, const std::function<void(const fs::path&, TreeEntry)>& visit, bool top) {
  std::error_code error;
  fs::directory_iterator it(folder, error), end;
  for (; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (!name.empty() && name[0] == '.') {
      visit(path, TreeEntry::Hidden);
      continue;
    }
    std::error_code type_error;
    if (!it->is_directory(type_error)) visit(path, TreeEntry::File);
    else if (!it->is_symlink(type_error)) walk_folder(path, visit, false);  // links to folders are not followed
  }
  if (!error) return;
  if (top) throw_bad_data("reading folder " + folder.string() + ": " + error.message());
  visit(folder, TreeEntry::Unlistable);
}

}  // namespace

void walk_tree(const fs::path& root, const std::function<void(const fs::path&, TreeEntry)>& visit) {
  walk_folder(root, visit, true);
}

bool is_read_only(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return false;
  return ::access(path.c_str(), W_OK) != 0 || (info.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0;
}

FileLock::FileLock(const fs::path& path, const std::string& what) {
  std::error_code error;
  const bool folder = fs::is_directory(path, error);
  if (!folder && path.has_parent_path()) fs::create_directories(path.parent_path(), error);
  // O_NONBLOCK: opening a FIFO given as an output must not wait for a reader.
  fd_ = folder ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
               : ::open(path.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0666);
  if (fd_ < 0) throw_runtime("cannot open " + what + " " + path.string() + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd_, &info) != 0 || !(S_ISREG(info.st_mode) || S_ISDIR(info.st_mode))) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    ::close(fd_);
    fd_ = -1;
    if (why == EWOULDBLOCK)
      throw_usage(what + " " + path.string() + " is in use by another satx process; wait for it to finish or choose " +
                  "another path (two writers would mix their rows)");
    throw_runtime("cannot lock " + what + " " + path.string() + ": " + std::strerror(why));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace satx
