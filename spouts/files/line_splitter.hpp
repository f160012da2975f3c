#pragma once

// Cuts the bytes of a followed file into lines. Internal to libgale_files.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gale::spouts::files {

// One complete line of a file: its bytes at [offset, next), the newline (and a '\r' before it)
// not included in `text`.
struct Line {
  std::int64_t offset = 0;
  std::int64_t next = 0;
  std::string text;       // for a too-long line: its first max_line_bytes bytes
  bool too_long = false;  // longer than max_line_bytes: not to be emitted as a line
  std::int64_t length = 0;  // bytes of the line without its newline
};

// Turns the bytes of a file, fed in the order they were read, into complete lines. Bytes after
// the last newline wait (a line a writer has not finished yet is never returned). A line longer
// than `max_line_bytes` is returned with too_long set and only its first max_line_bytes bytes,
// so memory stays bounded however long it gets.
// Thread: owned by one spout task.
class LineSplitter {
 public:
  // `start`: the file offset of the first byte that will be fed.
  LineSplitter(std::int64_t start, std::size_t max_line_bytes) noexcept
      : line_start_(start), max_line_bytes_(max_line_bytes) {}

  // Appends the complete lines ending in `data` to `out`.
  void feed(std::string_view data, std::vector<Line>& out);
  // Forgets the partial line and starts again at `start`.
  void reset(std::int64_t start) noexcept;

  // Offset of the partial line (where the next line will start).
  [[nodiscard]] std::int64_t partial_offset() const noexcept { return line_start_; }
  // Bytes of the partial line seen so far.
  [[nodiscard]] std::int64_t partial_length() const noexcept { return partial_length_; }

 private:
  std::int64_t line_start_;
  std::size_t max_line_bytes_;
  std::string partial_;             // the partial line's bytes (at most max_line_bytes_ + 1)
  std::int64_t partial_length_ = 0;  // its full length so far
};

}  // namespace gale::spouts::files
