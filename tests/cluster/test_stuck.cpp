// A bolt that never returns from execute() on a real cluster: `gale status` shows it stuck, and
// under the restart policy the worker exits, its supervisor restarts it and status says why.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/cluster/harness.hpp"

using namespace std::chrono_literals;
using gale::test::Cluster;
using gale::test::CommandResult;
using gale::test::eventually;

namespace {

const std::string k_stuck_plugin = gale::test::plugin("stuck_plugin");

// How many times a worker started, over every worker.log of the cluster.
int worker_starts(const Cluster& cluster) {
  int starts = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cluster.dir())) {
    if (entry.path().filename() != "worker.log") continue;
    std::ifstream f(entry.path());
    for (std::string line; std::getline(f, line);) {
      if (line.find("worker for topology") != std::string::npos) ++starts;
    }
  }
  return starts;
}

}  // namespace

TEST_SUITE("cluster_stuck") {
  TEST_CASE("gale status shows a stuck executor under the report policy; the worker runs on") {
    Cluster cluster(1, 1);
    auto r = cluster.submit(k_stuck_plugin, "hung",
                            {"-c", "topology.executor.stuck.secs=2", "-c",
                             "topology.executor.stuck.policy=report"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CommandResult status;
    const bool shown = eventually(
        [&] {
          status = cluster.gale("status", {"hung"});
          return status.output.find("stuck: bolt 'hang' task ") != std::string::npos;
        },
        60s);
    INFO(status.output);
    CHECK(shown);
    CHECK(status.output.find(" inside execute() (") != std::string::npos);
    CHECK(worker_starts(cluster) == 1);
    CHECK(cluster.gale("kill", {"hung", "--wait", "0"}).exit_code == 0);
  }

  TEST_CASE("under the restart policy the worker exits, is restarted, and status says why") {
    Cluster cluster(1, 1);
    auto r = cluster.submit(k_stuck_plugin, "hung", {"-c", "topology.executor.stuck.secs=2"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CommandResult status;
    const bool shown = eventually(
        [&] {
          status = cluster.gale("status", {"hung"});
          return status.output.find("worker exited: executor of bolt 'hang' (task ") !=
                 std::string::npos;
        },
        60s);
    INFO(status.output);
    CHECK(shown);
    CHECK(status.output.find(" stuck for ") != std::string::npos);
    CHECK(eventually([&] { return worker_starts(cluster) >= 2; }, 60s));
    CHECK(cluster.gale("kill", {"hung", "--wait", "0"}).exit_code == 0);
  }
}
