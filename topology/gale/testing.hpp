#pragma once

// The test kit: run a topology in-process, deterministically, from a unit test (Storm's
// completeTopology and tracked topologies). Time is simulated by default, so message timeouts and
// tick tuples are tested without sleeping.
//
//   auto result = gale::testing::complete_topology(topology);
//   CHECK(result.emitted("count").size() == 42);
//
// Thread: use a CompletedTopology / TrackedTopology from the thread that created it.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>
#include <gale/export.hpp>
#include <gale/streams.hpp>
#include <gale/topology.hpp>
#include <gale/value.hpp>

namespace gale::testing {

struct RunOptions {
  // Merged over the topology config (e.g. topology.message.timeout.secs). Without topology.id the
  // kit sets one of its own, new for each run; a test that plays a restart of one deployment
  // gives the same topology.id to both runs.
  Config config;
  // Time moves only when the kit (or TrackedTopology::advance_time) moves it.
  bool simulated_time = true;
  // complete_topology: how far simulated time jumps each time the topology is idle but trees are
  // still pending (waiting for a timeout or a tick).
  std::chrono::milliseconds time_step{1000};
  // Real time after which the kit gives up and throws gale::Error.
  std::chrono::milliseconds wall_limit{60'000};
};

struct ComponentCounts {
  std::uint64_t emitted = 0;
  std::uint64_t acked = 0;      // spouts: trees completed; bolts: inputs acked
  std::uint64_t failed = 0;     // spouts: trees failed or timed out; bolts: inputs failed
  std::uint64_t timed_out = 0;  // spouts only
  std::uint64_t executed = 0;   // bolts only (ticks included)
  std::uint64_t errors = 0;     // exceptions from user code and report_error() calls
};

// What a topology did: every tuple each component emitted, per stream, and its counters.
class GALE_API CompletedTopology {
 public:
  // Tuples `component` emitted on `stream`, in emission order per task (replays included). Empty
  // when it emitted none. Throws gale::TopologyError for an unknown component.
  const std::vector<Values>& emitted(std::string_view component,
                                     std::string_view stream = default_stream) const;
  ComponentCounts counts(std::string_view component) const;
  // Simulated time that passed while the topology ran.
  std::chrono::milliseconds simulated_time() const noexcept { return simulated_time_; }

 private:
  friend class TrackedTopology;
  std::map<std::string, std::map<std::string, std::vector<Values>, std::less<>>, std::less<>>
      emitted_;
  std::map<std::string, ComponentCounts, std::less<>> counts_;
  std::chrono::milliseconds simulated_time_{0};
};

// A running topology driven step by step by a test.
class GALE_API TrackedTopology {
 public:
  // Starts the topology (every task in this process). Throws gale::ConfigError when the config
  // merged over the topology's is invalid.
  explicit TrackedTopology(const Topology& topology, RunOptions options = {});
  ~TrackedTopology();
  TrackedTopology(const TrackedTopology&) = delete;
  TrackedTopology& operator=(const TrackedTopology&) = delete;

  // Waits until no tuple moves anywhere and every spout's recent next_tuple() calls emitted
  // nothing (trees may still be pending, waiting for time). Throws gale::Error at the wall limit.
  void wait_idle();
  // Moves simulated time forward (firing due timeouts and ticks), then waits until idle.
  // REQUIRES: options.simulated_time.
  void advance_time(std::chrono::milliseconds by);
  // Runs until idle with no tree pending, advancing simulated time by time_step whenever the
  // topology waits on a timer. Throws gale::Error at the wall limit, saying what is pending.
  void run_to_completion();
  // Tuple trees still pending across all spouts.
  std::uint64_t pending_trees() const;
  // What happened so far.
  CompletedTopology result() const;
  // Deactivates, drains and stops. Called by the destructor.
  void stop();

 private:
  struct Run;  // the running topology and its clock
  RunOptions options_;
  std::unique_ptr<Run> run_;
  std::chrono::milliseconds simulated_{0};
  std::chrono::steady_clock::time_point deadline_;
};

// Runs `topology` until its (finite) spouts are exhausted and every tuple tree is complete, and
// returns what each component emitted. Throws gale::Error when that does not happen within
// options.wall_limit.
GALE_API CompletedTopology complete_topology(const Topology& topology, RunOptions options = {});

}  // namespace gale::testing
