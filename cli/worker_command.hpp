#pragma once

#include <string>
#include <vector>

namespace gale::cli {

// Exit statuses of `gale worker` that mean something to the supervisor (docs/cluster.md).
inline constexpr int k_worker_exit_done = 0;        // stopped cleanly: killed, unknown, SIGTERM
inline constexpr int k_worker_exit_reassigned = 3;  // its tasks changed: restart it
// A spout's open() or a bolt's prepare() threw: nothing ran; the log's last line names the
// component, the task and the message. A crash to the supervisor: restart it (with backoff).
inline constexpr int k_worker_exit_init_failed = 4;
// An executor made no progress for topology.executor.stuck.secs and the policy is "restart": the
// log's last error names it. A crash to the supervisor: restart it (with backoff).
inline constexpr int k_worker_exit_stuck = 5;
// Out of memory: worker::k_exit_out_of_memory (6), worker/out_of_memory.hpp.

// `gale worker --nimbus H:P --supervisor ID --host H --port P --dir D --plugin FILE`: runs the
// tasks of one worker slot (started by a supervisor, never by hand). Reads D/assignment.msgpack,
// loads the plugin, runs its tasks with a ZeroMQ data transport bound at tcp://H:P, touches
// D/heartbeat and heartbeats nimbus every worker.heartbeat.frequency.secs, and follows nimbus's
// replies (all of it worker::WorkerProcess, worker/process/worker_process.hpp). Logs to stderr and
// D/worker.log. Returns k_worker_exit_done, k_worker_exit_reassigned or
// k_worker_exit_init_failed (logged as an error naming the component); ends the process at once
// with k_worker_exit_stuck when an executor is stuck under the restart policy (its thread cannot
// be joined, so nothing is stopped or destroyed). Throws gale::Error
// subclasses (unreadable assignment, bad plugin, port in use) and boost::program_options::error for
// the caller to report as one line (exit 1 / 2). REQUIRES: SIGINT and SIGTERM are blocked in every
// thread; they are taken with sigtimedwait as the request to stop.
int run_worker(const std::vector<std::string>& args);

// The text of `gale worker --help`.
std::string worker_help();

}  // namespace gale::cli
