#pragma once

// One file a spout task follows like `tail -F`: reads what was appended, notices when the file
// is truncated or replaced. Internal to libgale_files.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spouts/files/line_splitter.hpp"
#include "spouts/files/offset_file.hpp"

namespace gale::spouts::files {

// What became of a followed file since it was opened.
enum class FileChange {
  none,
  truncated,  // the same file, now shorter than what was read: rewritten in place
  replaced,   // the path names another file now (rotated, recreated), and the old one is read out
};

// An open file and the position reading continues at. Reads are bounded and never wait (regular
// files): at the end of the file a read returns nothing, and the next one sees appended bytes.
// Thread: owned by one spout task.
class FollowedFile {
 public:
  // Opens `path`. Returns nullopt and sets `error` (naming the path and errno) when it cannot.
  static std::optional<FollowedFile> open(const std::string& path, std::size_t max_line_bytes,
                                          std::string& error);
  FollowedFile(FollowedFile&& other) noexcept;
  FollowedFile& operator=(FollowedFile&& other) noexcept;
  FollowedFile(const FollowedFile&) = delete;
  FollowedFile& operator=(const FollowedFile&) = delete;
  ~FollowedFile();

  // Continues at `offset` (the start of a line). REQUIRES: nothing read yet.
  void seek(std::int64_t offset);
  // Reads up to `max_bytes` and appends the lines they complete to `out`. Returns the bytes read
  // (0 at the end of the file), or -1 with `error` set when the read fails.
  std::int64_t read(std::size_t max_bytes, std::vector<Line>& out, std::string& error);
  // Compares the open file with what `path` names now (stat of the path, fstat of the file).
  // `replaced` only once everything of the old file was read, so a rotated file loses no line.
  [[nodiscard]] FileChange check() const;
  // Whether there are bytes beyond what was read.
  [[nodiscard]] bool has_unread() const;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const FileIdentity& identity() const noexcept { return identity_; }
  [[nodiscard]] std::int64_t size() const;  // current size of the open file
  // Where the next line starts (the partial line's offset).
  [[nodiscard]] std::int64_t next_line_offset() const noexcept { return splitter_.partial_offset(); }

 private:
  FollowedFile(std::string path, int fd, FileIdentity identity, std::size_t max_line_bytes);

  std::string path_;
  int fd_ = -1;
  FileIdentity identity_;
  std::int64_t read_position_ = 0;  // bytes of the file fed to the splitter
  LineSplitter splitter_;
  std::string buffer_;
};

}  // namespace gale::spouts::files
