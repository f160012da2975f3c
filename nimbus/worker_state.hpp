#pragma once

// What nimbus hears about one worker slot from its two sources, and how `status` combines them:
// the supervisor, which owns the process (it saw it start, exit or wait for a restart), and the
// worker itself, whose heartbeat carries its counters but stops saying anything the moment it
// dies. The supervisor's word decides the state; the worker's heartbeat only confirms that the
// process the supervisor runs is the one that reported.

#include <cstdint>
#include <string>

#include <gale/value.hpp>

namespace gale::nimbus {

// What a supervisor last told about one of its slots (supervisor_heartbeat `workers`).
struct SlotReport {
  std::string topology_id;
  std::int64_t version = 0;
  std::int64_t pid = 0;
  bool running = false;
  std::int64_t restarts = 0;
  std::string last_exit;  // "exit 3", "signal 9", or empty
  std::string last_error;
  std::int64_t uptime_secs = 0;
};

// What a worker last told (worker_heartbeat).
struct WorkerBeat {
  std::string topology_id;
  std::int64_t version = 0;
  std::int64_t pid = 0;  // 0: a worker that does not send it
  std::int64_t uptime_secs = 0;
  std::string last_error;
  Map stats;
  std::int64_t seen_ns = 0;
};

// The states `gale status` shows for a worker.
inline constexpr const char* k_state_running = "running";
inline constexpr const char* k_state_starting = "starting";
inline constexpr const char* k_state_restarting = "restarting";
inline constexpr const char* k_state_stopped = "stopped";
inline constexpr const char* k_state_unknown = "unknown";

// The state of a slot assigned to a topology:
// - unknown: its supervisor is not heard from (dead, or nimbus restarted and has not heard yet);
// - starting: the supervisor has not taken the assignment up yet, has not started the worker
//   (e.g. its plugin cannot be fetched or verified: see the slot's last error), or runs a
//   worker that has not heartbeated nimbus yet;
// - running: the supervisor runs the worker and that very process (same pid) heartbeats;
// - restarting: the worker ended (see the slot's last exit) and the supervisor waits for its
//   restart back-off;
// - stopped: the topology is killed and the slot's worker has ended.
// `slot` is null when the live supervisor reports no worker of this topology on the port;
// `beat` is null when no worker of this topology heartbeated from the slot.
const char* worker_state(bool supervisor_live, const SlotReport* slot, const WorkerBeat* beat,
                         bool topology_killed);

// Whether `next` comes from another process than `before` on the same slot: another topology,
// another pid, or an uptime that went back (a new process that happens to get the same pid).
bool new_incarnation(const WorkerBeat& before, const WorkerBeat& next);

}  // namespace gale::nimbus
