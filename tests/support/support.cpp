#include "tests/support/support.hpp"

namespace gale::test {

std::vector<std::string> ids_of(const Topology& topology) {
  std::vector<std::string> ids;
  for (const auto& c : topology.components()) ids.push_back(c.id);
  return ids;
}

}  // namespace gale::test
