#pragma once

#include <vector>

#include "cluster/protocol.hpp"
#include "transport/zmq_transport.hpp"

namespace gale::worker {

// The data routes of an assignment: each worker's tcp://host:port, the tasks it hosts and its
// tenure (what transport::ZmqTransport::set_routes takes, with the assignment's version).
std::vector<transport::TaskRoute> routes_of(const cluster::Assignment& assignment);

}  // namespace gale::worker
