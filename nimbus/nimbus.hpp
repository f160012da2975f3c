#pragma once

// Nimbus's logic: the topologies, the supervisors and workers it hears from, and the answer to
// every control request (docs/cluster.md). No sockets here: handle() maps request bytes to reply
// bytes and tick() does the time-driven work, both against an injected clock, so tests drive
// heartbeat expiry and kill waits without sleeping. nimbus::Daemon (nimbus/daemon.hpp) serves it
// behind an RpcServer on a thread of its own, with the service's start() and stop().

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gale/config.hpp>
#include <gale/value.hpp>

#include "cluster/protocol.hpp"
#include "common/clock.hpp"
#include "nimbus/scheduler.hpp"
#include "nimbus/state.hpp"
#include "nimbus/worker_state.hpp"

namespace spdlog {
class logger;
}

namespace gale::nimbus {

// Config keys nimbus reads (from --config and -c).
namespace keys {
// Seconds without a heartbeat after which a supervisor is dead and its workers move. Default 60.
inline constexpr const char* supervisor_timeout_secs = "nimbus.supervisor.timeout.secs";
// Seconds a submitted plugin may take to load in the checking child process. Default 30.
inline constexpr const char* plugin_check_timeout_secs = "nimbus.plugin.check.timeout.secs";
}  // namespace keys

inline constexpr std::int64_t k_max_fetch_length = std::int64_t{4} << 20;

// In every refusal that concerns a damaged topology (TopologyRecord::damaged).
inline constexpr const char* k_damaged_text = " is damaged on nimbus";

struct NimbusOptions {
  std::filesystem::path state_dir;
  Config config;  // nimbus.* keys
};

// Thread: one owner, the nimbus daemon's thread (nimbus/daemon.hpp) or a test; handle() and
// tick() are never called concurrently.
class Nimbus {
 public:
  // Recovers every topology under options.state_dir. Throws ConfigError for an invalid nimbus.*
  // key and gale::Error when the state directory cannot be created.
  Nimbus(NimbusOptions options, const common::Clock& clock, std::shared_ptr<spdlog::logger> logger);
  ~Nimbus();

  // Answers one request: [1, "ok", body] or [1, "error", message]. Never throws: malformed input
  // gets an error reply naming the problem, and a log line.
  std::string handle(std::string_view request_bytes);

  // Time-driven work, called after every poll of the socket: declares supervisors dead (not
  // before one timeout after the start), moves their workers, removes killed topologies whose
  // wait is over. Never throws (IO failures are logged and retried on the next tick).
  void tick();

  // For tests and logs: the topology named `name`, or nullptr.
  const TopologyRecord* find_by_name(std::string_view name) const;
  std::size_t topology_count() const noexcept { return topologies_.size(); }
  std::int64_t supervisor_timeout_ns() const noexcept { return supervisor_timeout_ns_; }

 private:
  struct SupervisorInfo {
    std::string host;
    std::vector<std::int64_t> ports;
    std::int64_t last_seen_ns = 0;
    std::map<std::int64_t, SlotReport> slots;  // by port
  };
  using SlotKey = std::pair<std::string, std::int64_t>;  // (supervisor, port)

  Map dispatch(const cluster::Request& request);
  Map on_submit(const Map& body);
  Map on_kill(const Map& body);
  Map on_set_active(const Map& body, bool active);
  Map on_rebalance(const Map& body);
  Map on_list(const Map& body);
  Map on_status(const Map& body);
  Map on_supervisor_heartbeat(const Map& body);
  Map on_fetch_plugin(const Map& body);
  Map on_worker_heartbeat(const Map& body);

  // Throws ProtocolError "unknown topology 'x'".
  TopologyRecord& by_name(const std::string& name);
  TopologyRecord& by_id(const std::string& id);
  // Throws ProtocolError "topology 'x' is damaged on nimbus: why; only `gale kill` works on it"
  // when `r` is damaged.
  static void refuse_if_damaged(const TopologyRecord& r);
  // For damaged topologies whose assignment is unknown: the slots of `supervisor` that report
  // them become their workers (tasks unknown), so that nimbus keeps them and shows them.
  void adopt_reported_slots(const std::string& supervisor, const SupervisorInfo& info);
  // Adds the last counters of a worker incarnation that ended to its topology's totals, which
  // are written to disk with the topology.
  void fold_counters(const WorkerBeat& ended);
  // One entry of a status reply's `workers`, and the reply's `components` totals given those
  // entries.
  Map worker_status(const TopologyRecord& r, const cluster::WorkerAssignment& w) const;
  Map component_status(const TopologyRecord& r, const List& workers) const;
  // Writes `changed` to disk (unless it is damaged: then in memory only), then makes it the
  // record in memory (a failed write changes nothing).
  void commit(TopologyRecord changed);

  bool in_grace() const;
  bool slot_alive(const std::string& supervisor, std::int64_t port) const;
  // Slots of live supervisors that no assignment uses.
  std::vector<SupervisorSlots> free_slots() const;
  void expire_supervisors();
  void move_lost_workers(const std::string& id);
  void remove_killed();
  std::int64_t wall_ms() const;
  std::int64_t uptime_secs(const TopologyRecord& r) const;
  std::string new_topology_id(const std::string& name) const;

  // Constant after construction.
  const common::Clock& clock_;
  std::shared_ptr<spdlog::logger> logger_;
  std::int64_t supervisor_timeout_ns_;
  std::chrono::milliseconds plugin_check_timeout_;
  std::int64_t started_ns_;
  std::int64_t started_wall_ms_;

  NimbusState state_;
  std::map<std::string, TopologyRecord> topologies_;   // by id
  std::map<std::string, SupervisorInfo> supervisors_;  // live ones, by id
  std::map<SlotKey, WorkerBeat> worker_beats_;
  // Topologies with workers waiting for a slot: logged once, not on every tick.
  std::set<std::string> starved_;
  std::uint64_t uploads_ = 0;
};

}  // namespace gale::nimbus
