#include "tests/support/support.hpp"

#include <stdlib.h>

#include <stdexcept>
#include <system_error>

namespace gale::test {

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary directory " + pattern);
  }
  path = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::vector<std::string> ids_of(const Topology& topology) {
  std::vector<std::string> ids;
  for (const auto& c : topology.components()) ids.push_back(c.id);
  return ids;
}

}  // namespace gale::test
