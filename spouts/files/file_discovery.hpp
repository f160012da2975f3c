#pragma once

// Which files a file spout reads, and which of its tasks reads each. Internal to libgale_files.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace gale::spouts::files {

// The files `source` stands for: `source` itself when it is a file; when it is a directory, the
// regular files in it (not below it) whose names match the glob `pattern` (fnmatch), as
// "source/name", sorted. nullopt with `error` set (naming the path and errno) when `source`
// cannot be read, e.g. it does not exist yet.
[[nodiscard]] std::optional<std::vector<std::string>> list_source_files(const std::string& source,
                                                                        const std::string& pattern,
                                                                        std::string& error);

// Whether task `task_index` of `tasks` reads `path`: a hash of the path that every process and
// run agrees on, modulo the task count, so every file has exactly one reader.
[[nodiscard]] bool owns(const std::string& path, int task_index, std::size_t tasks);

}  // namespace gale::spouts::files
