#pragma once

// File operations that either complete durably or say why not: what the file spout's offset file
// and the file bolt's output rely on. Internal to libgale_files.

#include <string>
#include <string_view>

namespace gale::spouts::files {

// "open 'path': No such file or directory": `what` and `path` with the text of errno.
[[nodiscard]] std::string errno_message(std::string_view what, std::string_view path);

// Replaces `path` with `content` so that a crash leaves either the old or the new file, never a
// mix: writes `path`.tmp, fsyncs it, renames it over `path`, fsyncs the directory.
// Throws std::runtime_error naming the file and the failed step.
void write_atomically(const std::string& path, std::string_view content);

// Writes all of `data` to `fd` (retrying short writes and EINTR). Returns false, errno set, when a
// write fails.
[[nodiscard]] bool write_all(int fd, std::string_view data);

// fsync of the directory holding `path`, so that a rename or a new file in it is durable.
// Returns false, errno set, on failure.
[[nodiscard]] bool sync_parent_dir(const std::string& path);

// The whole content of `path`, or throws std::runtime_error naming it.
[[nodiscard]] std::string read_file(const std::string& path);

}  // namespace gale::spouts::files
