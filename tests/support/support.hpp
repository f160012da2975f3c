#pragma once

// Small helpers shared by the unit, integration and cluster tests.

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gale/topology.hpp>

#include "cluster/local_cluster.hpp"

namespace gale::test {

// A TCP port on 127.0.0.1 that nobody listens on right now (cluster/local_cluster.hpp).
using cluster::free_port;

// Polls `condition` every millisecond until it holds or `limit` passes; returns its last value.
// For conditions that are cheap to check (counters, queue states); cluster tests, whose
// conditions run commands, use eventually() from cluster/local_cluster.hpp.
template <class Condition>
bool wait_until(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A fresh directory under the system's temporary directory, removed with everything in it when
// this goes out of scope. `prefix` names the test that made it.
struct TempDir {
  explicit TempDir(const std::string& prefix = "gale-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path;
};

// The component ids of `topology`, in its order.
std::vector<std::string> ids_of(const Topology& topology);

}  // namespace gale::test
