// AtomicFile, write_file_atomic and read_file: atomic replacement, cleanup and error reporting.
#include <algorithm>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::testing::read_text;
using satx::testing::TempDir;
using satx::testing::write_text;

namespace {

// The names of every entry of `dir` (non-recursive), sorted.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

fs::path temporary_of(const fs::path& path) {
  fs::path temporary = path;
  temporary += ".tmp-" + std::to_string(::getpid());
  return temporary;
}

// Every byte value, NUL included, so text-mode conversions or C-string truncation would show.
std::string all_bytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  return bytes;
}

}  // namespace

TEST(AtomicFile, CommitReplacesTargetOnlyAtCommit) {
  TempDir dir;
  const fs::path target = dir / "report.json";
  write_text(target, "old content");
  {
    satx::AtomicFile file(target);
    file.write("new ");
    file.write(std::string("content"));
    // Until commit, readers still see the old file, and the bytes sit in the temporary beside it.
    EXPECT_EQ(read_text(target), "old content");
    EXPECT_TRUE(fs::exists(temporary_of(target)));
    file.commit();
    EXPECT_EQ(read_text(target), "new content");
  }
  EXPECT_EQ(read_text(target), "new content");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>({"report.json"}));
}

TEST(AtomicFile, DestroyedWithoutCommitKeepsPreviousFileAndNoTemporary) {
  TempDir dir;
  const fs::path target = dir / "model.safetensors";
  write_text(target, "previous");
  {
    satx::AtomicFile file(target);
    file.write(std::string(10000, 'x'));
  }
  EXPECT_EQ(read_text(target), "previous");
  EXPECT_FALSE(fs::exists(temporary_of(target)));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>({"model.safetensors"}));
}

TEST(AtomicFile, DestroyedWithoutCommitCreatesNothingWhenNoTargetExisted) {
  TempDir dir;
  {
    satx::AtomicFile file(dir / "fresh.csv");
    file.write("a,b\n");
  }
  EXPECT_FALSE(fs::exists(dir / "fresh.csv"));
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(AtomicFile, DestroyedAfterAnExceptionLeavesPreviousFile) {
  TempDir dir;
  const fs::path target = dir / "metrics.csv";
  write_text(target, "complete\n");
  try {
    satx::AtomicFile file(target);
    file.write("half of a ");
    throw std::runtime_error("writer failed midway");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_text(target), "complete\n");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>({"metrics.csv"}));
}

TEST(AtomicFile, WritesBinaryBytesExactly) {
  TempDir dir;
  const fs::path target = dir / "blob.bin";
  const std::string bytes = all_bytes();
  satx::AtomicFile file(target);
  file.write(bytes.data(), 100);
  file.write(bytes.data() + 100, 0);  // an empty write is fine
  file.write(bytes.data() + 100, bytes.size() - 100);
  file.commit();
  EXPECT_EQ(read_text(target), bytes);
}

TEST(AtomicFile, CommitWithoutWritesLeavesEmptyFile) {
  TempDir dir;
  const fs::path target = dir / "empty.txt";
  write_text(target, "something");
  satx::AtomicFile file(target);
  file.commit();
  EXPECT_TRUE(fs::exists(target));
  EXPECT_EQ(fs::file_size(target), 0u);
}

TEST(AtomicFile, CreatesMissingParentFolders) {
  TempDir dir;
  const fs::path target = dir / "runs" / "a" / "b" / "out.txt";
  satx::AtomicFile file(target);
  file.write("deep");
  file.commit();
  EXPECT_EQ(read_text(target), "deep");
}

TEST(AtomicFile, ThrowsRuntimeNamingPathWhenFolderCannotExist) {
  TempDir dir;
  write_text(dir / "plain", "a file, not a folder");
  const fs::path target = dir / "plain" / "out.txt";
  try {
    satx::AtomicFile file(target);
    FAIL() << "opening under a regular file should fail";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Runtime);
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, RefusesToReplaceASpecialFileOrFolder) {
  TempDir dir;
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  fs::create_directory(dir / "folder");
  for (const fs::path& target : {fifo, dir / "folder"}) {
    try {
      satx::write_file_atomic(target, "data");
      ADD_FAILURE() << target << " was replaced";
    } catch (const satx::Error& e) {
      EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
      EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_directory(dir / "folder"));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>({"folder", "pipe"}));
}

TEST(WriteFileAtomic, ReplacesLongerContentWithoutLeftoverTail) {
  TempDir dir;
  const fs::path target = dir / "config.json";
  satx::write_file_atomic(target, std::string(5000, 'L'));
  satx::write_file_atomic(target, "{\"short\":1}\n");
  EXPECT_EQ(read_text(target), "{\"short\":1}\n");
  satx::write_file_atomic(target, "");
  EXPECT_EQ(fs::file_size(target), 0u);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>({"config.json"}));
}

TEST(WriteFileAtomic, ThrowsRuntimeNamingPathWhenUnwritable) {
  TempDir dir;
  write_text(dir / "plain", "x");
  const fs::path target = dir / "plain" / "sub" / "out.json";
  try {
    satx::write_file_atomic(target, "data");
    FAIL() << "writing under a regular file should fail";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Runtime);
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_text(dir / "plain"), "x");
}

TEST(ReadFile, ReturnsWhatWriteFileAtomicWrote) {
  TempDir dir;
  const fs::path target = dir / "bytes.bin";
  const std::string bytes = all_bytes() + all_bytes();
  satx::write_file_atomic(target, bytes);
  EXPECT_EQ(satx::read_file(target), bytes);
  satx::write_file_atomic(target, "");
  EXPECT_EQ(satx::read_file(target), "");
}

TEST(ReadFile, ThrowsBadDataNamingMissingPath) {
  TempDir dir;
  const fs::path missing = dir / "no-such-file.json";
  try {
    satx::read_file(missing);
    FAIL() << "reading a missing file should throw";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
  }
}
