#include "spouts/files/file_discovery.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include <gale/value.hpp>

#include "spouts/files/durable_io.hpp"

namespace gale::spouts::files {

std::optional<std::vector<std::string>> list_source_files(const std::string& source,
                                                          const std::string& pattern,
                                                          std::string& error) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) {
    error = errno_message("cannot read", source);
    return std::nullopt;
  }
  if (!S_ISDIR(st.st_mode)) return std::vector<std::string>{source};
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(source.c_str()), &::closedir);
  if (!dir) {
    error = errno_message("cannot read the directory", source);
    return std::nullopt;
  }
  std::vector<std::string> paths;
  while (const dirent* entry = ::readdir(dir.get())) {
    if (entry->d_name[0] == '.') continue;  // ".", "..", hidden and temporary files
    if (::fnmatch(pattern.c_str(), entry->d_name, 0) != 0) continue;
    std::string path = source + '/' + entry->d_name;
    struct stat file {};
    if (::stat(path.c_str(), &file) == 0 && S_ISREG(file.st_mode)) paths.push_back(std::move(path));
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

bool owns(const std::string& path, int task_index, std::size_t tasks) {
  // Value::hash is documented stable across processes and runs.
  return Value(path).hash() % tasks == static_cast<std::size_t>(task_index);
}

}  // namespace gale::spouts::files
