#pragma once

// The runtime of one worker slot as the worker process drives it: the topology's tasks running on
// a Worker, wired to the other workers by a data transport. An interface, so that the worker
// process's control logic (worker/process/worker_process.hpp) is tested with a fake instead of a
// plugin, executor threads and sockets (tests/unit/test_worker_process.cpp). The real one is
// open_zmq_slot() (worker/process/zmq_slot.hpp).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gale/config.hpp>

#include "cluster/protocol.hpp"
#include "worker/worker.hpp"

namespace spdlog {
class logger;
}

namespace gale::worker {

// What a slot runs: everything read from the assignment file and the command line.
struct SlotSpec {
  std::string plugin_path;          // the topology plugin
  Config config;                    // the topology config of the assignment file
  cluster::Assignment assignment;   // where every task runs (the data routes)
  std::vector<std::int32_t> tasks;  // the tasks of this slot, ascending; never empty
  std::int64_t tenure = 0;          // the version since which this slot runs them (0: unknown)
  std::string host;                 // the data port binds tcp://host:port
  int port = 0;
  std::string name;                        // the runtime's logger name, e.g. "worker-6700"
  std::string log_file;                    // the runtime also logs here when not empty
  std::shared_ptr<spdlog::logger> logger;  // the process's logger (the transport logs to it)
};

// Thread: the worker process's owner thread calls every method; the runtime's own threads are
// private to it.
class SlotRuntime {
 public:
  virtual ~SlotRuntime();

  // The topology config in force: the plugin's, overridden by the assignment file's.
  virtual const Config& config() const = 0;
  // The data endpoint peers send to, e.g. tcp://10.0.0.2:6700 (for logs).
  virtual std::string endpoint() const = 0;

  // Starts receiving and the executors; spouts start active. Throws gale::Error when the runtime
  // cannot start, ComponentInitError when a component failed to initialise (nothing runs then).
  // REQUIRES: called once, first.
  virtual void start() = 0;
  // Spouts resume (activate) or stop (deactivate) calling next_tuple.
  virtual void activate() = 0;
  virtual void deactivate() = 0;
  // Sends to the workers of `assignment` from now on (peers moved; this slot's tasks did not),
  // stamps what it sends with its version and fences received batches by its tenures.
  virtual void set_routes(const cluster::Assignment& assignment) = 0;
  // A newer assignment runs this slot's tasks elsewhere: spouts stop for good, at once (no more
  // next_tuple, ack or fail; Worker::fence_spouts).
  virtual void fence_spouts() = 0;
  // The newest assignment version a batch from a peer was stamped with (0: none yet).
  virtual std::int64_t newest_peer_version() const = 0;
  // Around every heartbeat to nimbus: after a stall (the process did not run, e.g. stopped during
  // a partition), received batches and spout calls wait for a heartbeat started after it to be
  // confirmed (nimbus answered with an assignment, which was followed), at most stall_hold, so
  // that a superseded worker fences its spouts before they act on what queued up meanwhile.
  // heartbeat_confirmed() is not called for a heartbeat nimbus did not answer.
  virtual void heartbeat_started() = 0;
  virtual void heartbeat_confirmed() = 0;
  // Counters of this slot's components (heartbeats report them).
  virtual WorkerStats stats() const = 0;
  // The stuck-executor watch (Worker::check_progress): executors that made no progress for
  // topology.executor.stuck.secs. Called about once a second, before stats().
  virtual std::vector<StuckExecutor> check_progress() = 0;
  // Storm's stop order: spouts stop, pending trees get up to `drain` to complete, executors drain
  // their queues and stop, then the transport hands out what it can within `flush` and closes.
  // Returns when all of it is done. Idempotent.
  virtual void stop(std::chrono::milliseconds drain, std::chrono::milliseconds flush) = 0;
};

// Builds (but does not start) the runtime of `spec`. Throws gale::Error subclasses (bad plugin,
// invalid config, data port in use). The caller owns the result.
using SlotRuntimeFactory = std::function<std::unique_ptr<SlotRuntime>(const SlotSpec& spec)>;

}  // namespace gale::worker
