#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gale/config.hpp>
#include <gale/errors.hpp>
#include <gale/export.hpp>
#include <gale/topology.hpp>

namespace gale::common {
class Clock;
}
namespace gale::detail {
class Plan;
}
namespace gale::transport {
class RemoteTransport;
}
namespace gale::wire {
struct Message;
}

namespace gale::worker {

class WorkerImpl;

struct WorkerOptions {
  std::shared_ptr<common::Clock> clock;  // null: the steady clock
  std::vector<std::int32_t> tasks;  // tasks hosted by this worker; empty: every task (local mode)
  bool capture_emits = false;       // record every emitted tuple (the test kit reads them)
  std::string name = "local";       // logger name
  std::string log_file;             // also log here when not empty
  // Carries batches for tasks hosted elsewhere (cluster mode); must outlive the Worker. Null in
  // local mode, where every task is hosted here.
  transport::RemoteTransport* remote = nullptr;
  // Cluster mode: a spout executor that did not run for longer than this (the process was
  // stopped, e.g. during a partition) makes no next_tuple/ack/fail call until nimbus answered a
  // heartbeat started after the stall (heartbeat_done), at most stall_hold: the worker may have
  // been superseded meanwhile. 0: never (local mode).
  std::chrono::milliseconds stall_after{0};
  std::chrono::milliseconds stall_hold{2500};
};

// Complete latency of spout tuple trees (emit to ack), from a log-bucketed histogram.
struct LatencySummary {
  std::uint64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

// Counters of one component, summed over its tasks in this worker.
struct ComponentStats {
  std::string component;
  bool is_spout = false;
  bool is_acker = false;
  int tasks = 0;
  std::uint64_t emitted = 0;  // tuples emitted, all streams (a tuple sent to 3 tasks counts once)
  std::uint64_t transferred = 0;  // tuples delivered to tasks (a tuple sent to 3 tasks counts 3)
  std::uint64_t acked = 0;        // spouts: trees completed; bolts: input tuples acked
  std::uint64_t failed = 0;       // spouts: trees failed (timeouts included); bolts: inputs failed
  std::uint64_t timed_out = 0;    // spouts: trees failed because they timed out
  std::uint64_t executed = 0;     // bolts: execute() calls (ticks included)
  std::uint64_t errors = 0;       // exceptions thrown by user code plus report_error() calls
  std::uint64_t pending = 0;      // spouts: trees pending now
  LatencySummary complete_latency;  // spouts with acking on
  std::string last_error;
};

// One tuple as a component emitted it (the test kit's capture).
struct CapturedEmit {
  std::int32_t component_index;  // in Topology::components()
  std::int32_t stream_index;     // in the component's streams, ordered by name
  std::int32_t task;
  Values values;
};

// An executor that made no progress for topology.executor.stuck.secs while inside a user call or
// with input queued (Worker::check_progress()). An executor waiting for a full queue downstream
// is not stuck: what it waits for is.
struct GALE_API StuckExecutor {
  std::string component;
  std::string kind;                 // "spout", "bolt" or "acker"
  std::vector<std::int32_t> tasks;  // ascending
  std::int64_t secs = 0;            // without progress so far, as the watch measured it
  std::uint64_t queued = 0;         // tuples in its input queue
  std::string inside;               // the user callbacks it runs: "execute()", ...
  // "executor of bolt 'count' (tasks 3-4) made no progress for 61 s inside execute() with 1200
  // tuples queued"
  std::string describe() const;
};

struct WorkerStats {
  std::vector<ComponentStats> components;  // topology order (by id), ackers last
  std::vector<StuckExecutor> stuck;        // as the last check_progress() found them
};

// What Worker::stop() left behind.
struct StopSummary {
  std::uint64_t pending_trees = 0;     // tuple trees neither acked nor failed when the spouts left
  std::uint64_t dropped_messages = 0;  // queued messages dropped after the drain ran out
  bool drain_ran_out = false;          // the drain ended before every tree completed
};

// Worker::start() found that a spout's open() or a bolt's prepare() (or a custom grouping's
// prepare) threw. what(): every such task, e.g. "a component failed to initialise: bolt 'split'
// task 3: prepare() threw: no such file".
class GALE_API ComponentInitError : public Error {
 public:
  using Error::Error;
};

// Runs the tasks of one topology hosted in this process on executor threads. Local mode is a
// Worker hosting every task. Thread: create, start, stop and destroy from one thread; stats() and
// the other queries may be called from any thread.
class GALE_API Worker {
 public:
  // Validates the config merged over the topology's (throws ConfigError) and plans the executors.
  Worker(Topology topology, Config config, WorkerOptions options = {});
  ~Worker();  // stop() if still running
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts executor threads; each opens its spouts / prepares its bolts; once every task did,
  // the spouts activate. Throws ComponentInitError, with every executor stopped again (close() and
  // cleanup() called on the tasks that did initialise), when any open()/prepare() threw: no
  // next_tuple() or execute() has run then.
  void start();
  // Spouts stop (deactivate) or resume (activate) calling next_tuple.
  void activate();
  void deactivate();
  // This worker was superseded (a newer assignment runs its tasks elsewhere): its spouts stop for
  // good, at once. No next_tuple(), ack() or fail() call starts from now on (one under way
  // finishes; deactivate() and close() still run), so that the spout tasks now running in another
  // worker are the only ones acting on their message ids; activate() no longer resumes them.
  // stop() then does not wait for pending trees. Any thread.
  void fence_spouts();
  // Nimbus answered a heartbeat started at `started` (steady clock) and the owner followed the
  // reply, having fenced the spouts first if it was superseded (see WorkerOptions::stall_after).
  // Any thread.
  void heartbeat_done(std::chrono::steady_clock::time_point started);
  // Deactivates spouts, waits for every pending tree to complete or fail and for the queues to
  // empty, then stops the executors, which call close()/cleanup(). `drain` bounds all of that
  // waiting: once it ran out, executors drop what is queued and run no more user code (a call
  // under way finishes); trees not completed by then are left pending, neither acked nor failed.
  // Returns what was left (the same on later calls). Idempotent.
  StopSummary stop(std::chrono::milliseconds drain = std::chrono::seconds(5));

  WorkerStats stats() const;
  // The stuck-executor watch, for the owner's housekeeping to call about once a second (`gale
  // local`'s progress loop, the worker process's heartbeat): compares each executor's progress with
  // the previous call's, at the injected clock's time. Returns the executors that made no progress
  // for topology.executor.stuck.secs while inside a user call or with input queued (empty when the
  // key is 0 or null, before start() and after stop()); logs one warning when an executor becomes
  // stuck and one line when it moves again; stats() shows the result. What to do about it is the
  // caller's (restart_when_stuck()). REQUIRES: the thread that calls start() and stop().
  std::vector<StuckExecutor> check_progress();
  // topology.executor.stuck.policy is "restart" (the default).
  bool restart_when_stuck() const noexcept;
  // Trees pending across all spout tasks of this worker.
  std::uint64_t pending_trees() const;
  // Number of spout tasks here whose last next_tuple() calls emitted nothing for a while, and the
  // total number of spout tasks (the test kit's notion of "exhausted").
  bool spouts_idle() const;
  // True when no message is queued or being processed anywhere in this worker.
  bool quiescent() const;
  // Incremented whenever a batch is handed to a queue: equal readings around a quiescent() check
  // mean nothing moved in between.
  std::uint64_t activity() const;
  // Wakes every executor (after the injected clock moved).
  void wake_all();
  // Wakes every executor and waits until each has run its timers (ticks, timeouts) against the
  // clock as it is now and handed over what they emitted. REQUIRES: started, not stopped.
  void sync_timers();
  // Every tuple emitted so far, in emission order per emitting task (capture_emits only).
  std::vector<CapturedEmit> captured() const;

  // Hands messages that arrived from other workers to the executors of their tasks. Blocks while a
  // destination queue is full (backpressure onto the transport). Messages for tasks not hosted
  // here are dropped and logged. Thread: the transport's receiving thread.
  void receive(std::vector<wire::Message>&& messages);
  // The tasks this worker hosts, ascending.
  const std::vector<std::int32_t>& tasks() const noexcept;

  // The topology as planned for running: components, streams, tasks (e.g. to resolve the streams
  // of batches received from other workers). Valid as long as the Worker.
  const detail::Plan& plan() const noexcept;

 private:
  std::unique_ptr<WorkerImpl> impl_;
};

}  // namespace gale::worker
