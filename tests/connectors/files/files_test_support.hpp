#pragma once

// What the file connector's tests share: a temporary directory, writing numbered lines, reading
// files back.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace gale::test::files {

// A fresh directory under the system's temporary directory, removed with everything in it when
// the object goes (also when the test fails). Thread: the test's.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::string operator/(const std::string& name) const { return path_ + '/' + name; }

 private:
  std::string path_;
};

// "line-0000042": line number `i`, fixed width so that offsets are easy to predict.
[[nodiscard]] std::string numbered_line(std::int64_t i);
// Appends numbered lines [from, to), each with its newline, to `path` (created when missing).
void append_numbered_lines(const std::string& path, std::int64_t from, std::int64_t to);
// Appends `text` as it is.
void append_text(const std::string& path, const std::string& text);
// The lines of `path` (without newlines); empty when it does not exist.
[[nodiscard]] std::vector<std::string> read_lines(const std::string& path);
// The number in a numbered line; -1 for anything else.
[[nodiscard]] std::int64_t line_number(const std::string& line);
// The size of `path` in bytes.
[[nodiscard]] std::int64_t file_size(const std::string& path);
// The committed offset of `file` in the spout offset files under `offsets_dir` (component
// `component`), or -1 when none names it or one cannot be parsed.
[[nodiscard]] std::int64_t committed_offset(const std::string& offsets_dir,
                                            const std::string& component, const std::string& file);

// The entry point of the child process that the restart test kills: runs a file spout topology
// over `dir` until killed, writing each line it receives to dir/seen. Called by main().
int run_killable_topology(const std::string& dir);

}  // namespace gale::test::files
