#pragma once

// The worker process's logic (docs/cluster.md): one per slot. Reads the slot's assignment file,
// runs the slot's tasks (a SlotRuntime), and every worker.heartbeat.frequency.secs touches
// D/heartbeat for the supervisor and heartbeats nimbus, following the reply: the topology status
// (active, inactive, rebalancing, killed) and newer assignments. Keeps running while nimbus does
// not answer. Time, nimbus and the runtime are injected, so all of it runs in tests without
// sleeps, sockets or a plugin (tests/unit/test_worker_process.cpp).
//
// Lifecycle: start(); run() (tick() until it returns false or the owner wants to stop, e.g. on a
// signal); stop(), which drains. stop_reason() then says why it ended.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/value.hpp>

#include "cluster/protocol.hpp"
#include "common/clock.hpp"
#include "worker/process/rate_window.hpp"
#include "worker/process/slot_runtime.hpp"

namespace spdlog {
class logger;
}

namespace gale::worker {

// Configuration keys of the worker process (the topology config).
namespace keys {
// Seconds between heartbeats (to D/heartbeat and to nimbus). Default 1, clamped to 0.05..60.
inline constexpr const char* heartbeat_frequency_secs = "worker.heartbeat.frequency.secs";
}  // namespace keys

struct WorkerProcessOptions {
  std::string nimbus;         // host:port, for logs (the calls go through the RpcCall)
  std::string supervisor;     // the supervisor's id; with `port` it finds the slot
  std::string host;           // the data port binds here; else-match for the slot
  int port = 0;               // the slot: the data port, 1..65535
  std::filesystem::path dir;  // the slot's directory: assignment.msgpack, heartbeat, worker.log
  std::string plugin;         // the topology plugin
  // How long pending trees get to complete at stop(): short enough that a stop on SIGTERM ends
  // well within the supervisor's grace period before SIGKILL (5 s by default).
  std::chrono::milliseconds drain_on_stop{2000};
  // The same when a newer assignment moved this slot's tasks (the supervisor restarts it).
  std::chrono::milliseconds drain_on_reassign{1000};
  // How long the data transport may take to hand out what is queued at stop().
  std::chrono::milliseconds transport_flush{1000};
  // How often, between heartbeats, the process looks whether a peer's batch was stamped with a
  // newer assignment version than its own; it then heartbeats at once to fetch that assignment
  // (and learns sooner when it was superseded).
  std::chrono::milliseconds peer_version_check{100};
  // Null: a logger "worker-<port>" writing to stderr and dir/worker.log.
  std::shared_ptr<spdlog::logger> logger;
};

// Why a worker process ended.
enum class StopReason {
  requested,      // stop() without a reason of its own (SIGTERM, SIGINT)
  topology_gone,  // nimbus no longer knows the topology (after a kill's wait)
  reassigned,     // a newer assignment changed this slot's tasks: the supervisor restarts it
  // An executor is stuck and topology.executor.stuck.policy is "restart": the owner ends the
  // process at once with its own exit status (the supervisor restarts it like a crash). stop()
  // leaves the runtime alone then: a thread inside user code cannot be stopped or joined.
  stuck,
};

// Thread: one owner (the `gale worker` main thread, or a test) calls every method.
class WorkerProcess {
 public:
  // Nothing runs until start(). `nimbus` may throw (e.g. cluster::ProtocolError for a malformed
  // reply): the process treats that like no reply. REQUIRES: `clock` outlives the process;
  // `open_slot` builds the runtime (worker::open_zmq_slot for real).
  WorkerProcess(WorkerProcessOptions options, cluster::RpcCall nimbus, const common::Clock& clock,
                SlotRuntimeFactory open_slot);
  ~WorkerProcess();  // stop() when running
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Reads dir/assignment.msgpack, builds and starts the runtime of this slot's tasks, and follows
  // the status of the file. The first heartbeat is due at once. Throws gale::Error when the file
  // is unreadable or gives this slot no tasks, cluster::ProtocolError when it is malformed, and
  // what the runtime factory or SlotRuntime::start throws (worker::ComponentInitError when a
  // spout's open() or a bolt's prepare() threw); nothing runs then.
  // REQUIRES: called once.
  void start();

  // Heartbeats when one is due, or at once when a peer runs a newer assignment version than this
  // process (once per such version), and follows nimbus's reply. Each regular heartbeat first runs
  // the stuck-executor watch (SlotRuntime::check_progress) and carries what it found. A reply whose
  // assignment runs this slot's tasks elsewhere fences the spouts (SlotRuntime::fence_spouts)
  // before anything else and ends the process. Returns false once the process has ended (nimbus
  // dropped the topology, a newer assignment moved this slot's tasks, an executor is stuck under
  // the restart policy, or stop()): the owner then calls stop() (or, for StopReason::stuck, exits
  // at once). Never throws for what nimbus does or fails to do.
  [[nodiscard]] bool tick();
  // Time until the next heartbeat is due (zero when due now). The owner sleeps this long, or until
  // a signal, between ticks.
  std::chrono::nanoseconds until_next_heartbeat() const;
  // Ticks until tick() returns false or `wait_for_stop`, called between ticks with the time until
  // the next heartbeat is due (at most peer_version_check), returns true (the owner wants to stop:
  // a signal came); a heartbeat due by then still goes out first (it may fence the spouts). Does
  // not call stop(). REQUIRES: start() succeeded.
  void run(const std::function<bool(std::chrono::nanoseconds)>& wait_for_stop);

  // Refuses further ticks, then stops the runtime in Storm's order and returns when it is done:
  // spouts stop, pending trees get drain_on_stop (drain_on_reassign when reassigned), executors
  // drain, the transport flushes. Sets stop_reason() to `requested` unless it was already set.
  // Idempotent; does nothing when start() did not succeed.
  void stop();

  // Why the process ended; nullopt while it runs.
  std::optional<StopReason> stop_reason() const noexcept { return reason_; }
  // With StopReason::stuck: what got stuck, e.g. "executor of bolt 'count' (task 3) stuck for
  // 61 s inside execute()".
  const std::string& stuck_reason() const noexcept { return stuck_reason_; }
  bool running() const noexcept { return state_ == State::running; }

  // Queries for logs and tests.
  // The status the spouts follow: "active", "inactive" or "rebalancing" ("killed" deactivates).
  const std::string& status() const noexcept { return status_; }
  // The assignment in force (the file's, or a newer one nimbus sent that kept this slot's tasks).
  const cluster::Assignment& assignment() const noexcept { return assignment_; }
  // Whether nimbus answered the last heartbeat.
  bool nimbus_reachable() const noexcept { return nimbus_reachable_; }
  // From the topology config; known after start().
  std::chrono::milliseconds heartbeat_period() const noexcept { return heartbeat_period_; }

 private:
  enum class State { created, running, ended, stopped };
  const cluster::WorkerAssignment* find_slot(const cluster::Assignment& assignment) const;
  void heartbeat();
  // One worker_heartbeat call and following its reply; true when nimbus answered with an
  // assignment that was followed (or said the topology is gone).
  bool heartbeat_exchange();
  // A peer's batch was stamped with a version newer than this process's and newer than the last
  // one that caused an early heartbeat.
  bool peer_runs_newer();
  // The body of a worker_heartbeat; the counter rates move on with each call.
  Map heartbeat_body();
  void follow_reply(const Map& body);
  void follow_status(const std::string& status);
  void end(StopReason reason);

  // Constant after construction:
  const WorkerProcessOptions options_;
  const cluster::RpcCall nimbus_;
  const common::Clock& clock_;
  const SlotRuntimeFactory open_slot_;
  const std::shared_ptr<spdlog::logger> log_;

  // Set by start():
  std::unique_ptr<SlotRuntime> runtime_;
  std::vector<std::int32_t> tasks_;  // this slot's; a newer assignment that changes them ends it
  std::chrono::milliseconds heartbeat_period_{1000};
  bool restart_stuck_ = true;  // topology.executor.stuck.policy is "restart"
  std::int64_t started_ns_ = 0;

  // Changed by start(), tick() and stop():
  State state_ = State::created;
  std::optional<StopReason> reason_;
  cluster::Assignment assignment_;
  std::string status_ = "active";
  std::int64_t next_heartbeat_ns_ = 0;
  bool nimbus_reachable_ = true;
  std::string last_nimbus_error_;         // logged once until it changes
  std::int64_t early_heartbeat_for_ = 0;  // the peer version that last caused an early heartbeat
  RateWindow rates_;
  std::vector<StuckExecutor> stuck_;  // the last heartbeat's watch
  std::string stuck_reason_;
};

}  // namespace gale::worker
