#pragma once

// The cluster tests' cluster: nimbus, supervisors and, through them, workers of this build's gale
// command (GALE_EXE) on loopback, all killed when the Cluster is destroyed (see
// cluster/local_cluster.hpp).

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "cluster/local_cluster.hpp"
#include "tests/support/support.hpp"

namespace gale::test {

using cluster::CommandResult;
using cluster::eventually;
using cluster::run_program;

// Thread: the test's.
class Cluster : public cluster::LocalCluster {
 public:
  // Starts nimbus and `supervisors` supervisors with `slots` worker slots each. Throws
  // std::runtime_error when the cluster's directory cannot be made or no free port is found.
  Cluster(int supervisors, int slots, std::map<std::string, std::string> config = {});
};

// The test plugin `name` built from tests/plugins/ (GALE_TEST_PLUGIN_DIR/NAME.so).
std::string plugin(const std::string& name);

// Runs this build's gale command with `args` (see run_program).
CommandResult run_gale(std::vector<std::string> args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace gale::test
