#include "tests/cluster/harness.hpp"

#include <utility>

#ifndef GALE_EXE
#error "GALE_EXE must name the gale executable"
#endif

namespace gale::test {

Cluster::Cluster(int supervisors, int slots, std::map<std::string, std::string> config)
    : LocalCluster({.gale = GALE_EXE,
                    .supervisors = supervisors,
                    .slots = slots,
                    .config = std::move(config)}) {}

}  // namespace gale::test
