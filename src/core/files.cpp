#include "satx/core/files.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "satx/core/error.hpp"

namespace fs = std::filesystem;

namespace satx {

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)) {
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

}  // namespace satx
