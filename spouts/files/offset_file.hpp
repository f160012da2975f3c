#pragma once

// The durable record of where a file spout task resumes: one offset file per task. Internal to
// libgale_files.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gale::spouts::files {

// Which file content a position belongs to: a path can be replaced by another file (rotation),
// which a restart must not resume at the old file's offset.
struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

// Where reading of one followed file resumes: every line before `offset` was processed.
struct CommittedOffset {
  FileIdentity identity;
  std::int64_t offset = 0;
  // Milliseconds since the epoch when it was written: when two tasks' files name the same path
  // (the task count changed), the newer entry wins.
  std::int64_t written_at_ms = 0;
  friend bool operator==(const CommittedOffset&, const CommittedOffset&) = default;
};

using CommittedOffsets = std::map<std::string, CommittedOffset>;  // path -> offset

// The text of an offset file: a header line, one line per path
// ("WRITTEN_AT_MS DEVICE INODE OFFSET PATH"), and a trailer with the entry count, so that a file
// cut short or edited by hand is recognised as damaged rather than half believed.
[[nodiscard]] std::string format_offsets(const CommittedOffsets& offsets);
// Parses what format_offsets wrote. Throws std::runtime_error saying what is wrong (with the
// line number) when the text is not a complete offset file.
[[nodiscard]] CommittedOffsets parse_offsets(const std::string& text);

// One task's offset file, e.g. DIR/COMPONENT.3.offsets for task index 3.
// Thread: owned by one spout task.
class OffsetFile {
 public:
  OffsetFile(std::string dir, std::string component, int task_index);

  // What the spout's tasks committed: every COMPONENT.*.offsets file in the directory, the newest
  // entry per path (a file may have had another owner before the task count changed). A damaged
  // file is renamed to NAME.damaged and named in `problems` (with the reason), and its entries
  // are left out, so their files are read again from the beginning (at-least-once). A missing
  // directory is created. Throws std::runtime_error when the directory cannot be read or created.
  [[nodiscard]] CommittedOffsets load(std::vector<std::string>& problems) const;

  // Durably replaces this task's file with `offsets` (write_atomically). Throws
  // std::runtime_error naming the file on failure.
  void store(const CommittedOffsets& offsets) const;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string dir_;
  std::string prefix_;  // COMPONENT.
  std::string path_;
};

}  // namespace gale::spouts::files
