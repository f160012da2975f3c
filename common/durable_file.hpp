#pragma once

// Files that are replaced whole and durably: a crash leaves the old content or the new, never a
// mix. What nimbus's and the supervisors' state files and the checkpoint store rely on.

#include <filesystem>
#include <string>
#include <string_view>

#include <gale/export.hpp>

namespace gale::common {

// Replaces `path` with `content`: writes a temporary file beside it (named after this process, so
// that two writers never share one), fsyncs it, renames it over `path` and fsyncs the directory.
// Throws gale::Error naming the file, the failed step and the system's reason.
GALE_API void write_atomically(const std::filesystem::path& path, std::string_view content);

// The whole content of `path`; throws gale::Error naming the file and the system's reason.
[[nodiscard]] GALE_API std::string read_whole_file(const std::filesystem::path& path);

// fsync of a directory, so that the files created, renamed or removed in it are durable. Throws
// gale::Error naming it.
GALE_API void sync_directory(const std::filesystem::path& dir);

}  // namespace gale::common
