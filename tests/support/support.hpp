#pragma once

// Small helpers shared by the unit, integration and cluster tests.

#include <string>
#include <vector>

#include <gale/topology.hpp>

#include "cluster/local_cluster.hpp"

namespace gale::test {

// A TCP port on 127.0.0.1 that nobody listens on right now (cluster/local_cluster.hpp).
using cluster::free_port;

// The component ids of `topology`, in its order.
std::vector<std::string> ids_of(const Topology& topology);

}  // namespace gale::test
