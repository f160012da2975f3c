#include "tests/cluster/harness.hpp"

#include <utility>

#ifndef GALE_EXE
#error "GALE_EXE must name the gale executable"
#endif
#ifndef GALE_TEST_PLUGIN_DIR
#error "GALE_TEST_PLUGIN_DIR must name the test plugins' directory"
#endif

namespace gale::test {

Cluster::Cluster(int supervisors, int slots, std::map<std::string, std::string> config)
    : LocalCluster({.gale = GALE_EXE,
                    .supervisors = supervisors,
                    .slots = slots,
                    .config = std::move(config)}) {}

std::string plugin(const std::string& name) {
  return std::string(GALE_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

CommandResult run_gale(std::vector<std::string> args, std::chrono::milliseconds timeout) {
  args.insert(args.begin(), GALE_EXE);
  return run_program(args, timeout);
}

}  // namespace gale::test
