#pragma once

// The supervisor daemon's logic (docs/cluster.md): heartbeats nimbus with the state of its slots,
// applies the assignments of the reply (fetches plugins, writes
// D/workers/<port>/assignment.msgpack) and keeps one worker process per assigned slot running:
// restarts workers that exit (with a back-off on repeated crashes), kills and restarts workers
// whose heartbeat file goes stale, and stops workers whose slot is no longer assigned. Processes,
// time and nimbus are injected, so the whole of it runs in tests without real processes, sleeps or
// sockets. supervisor::Daemon (supervisor/daemon.hpp) drives it on a thread of its own.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gale/config.hpp>
#include <gale/value.hpp>

#include "cluster/protocol.hpp"
#include "common/clock.hpp"
#include "supervisor/cgroup_tree.hpp"
#include "supervisor/launcher.hpp"
#include "supervisor/plugin_cache.hpp"

namespace spdlog {
class logger;
}

namespace gale::supervisor {

// Configuration keys of the supervisor (gale.conf or -c).
namespace keys {
// Seconds between heartbeats to nimbus. Default 1.
inline constexpr const char* heartbeat_frequency_secs = "supervisor.heartbeat.frequency.secs";
// Seconds without a worker heartbeat (its heartbeat file) before the worker is killed and
// restarted. Default 30.
inline constexpr const char* worker_timeout_secs = "supervisor.worker.timeout.secs";
// Seconds a newly started worker has to write its first heartbeat. Default 30.
inline constexpr const char* worker_start_timeout_secs = "supervisor.worker.start.timeout.secs";
// Seconds between SIGTERM and SIGKILL when stopping a worker. Default 5.
inline constexpr const char* worker_shutdown_secs = "supervisor.worker.shutdown.secs";
}  // namespace keys

struct SupervisorOptions {
  std::string id;                   // this supervisor's id, unique in the cluster
  std::string host;                 // the host workers bind their data port on
  std::vector<std::int64_t> ports;  // the slots
  std::filesystem::path state_dir;  // D: plugins/ and workers/<port>/ below it
  std::string nimbus;               // host:port, passed on to workers
  std::string executable;           // the gale command, started as `gale worker ...`
  std::string log_file;             // the supervisor's log (besides stderr); empty: none
  std::chrono::milliseconds heartbeat_period{1000};
  std::chrono::milliseconds worker_timeout{30000};
  std::chrono::milliseconds worker_start_timeout{30000};
  std::chrono::milliseconds kill_grace{5000};
  // Restart delays after consecutive crashes: none after the first, then 1 s, 2 s, 4 s ... up to
  // max_backoff. A worker that ran for stable_uptime before crashing starts the count afresh.
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds stable_uptime{10000};
  // Where Daemon::start() looks for cgroup v2 to put memory-limited workers in (CgroupTree);
  // empty: memory limits are RLIMIT_AS.
  std::filesystem::path cgroup_mount = "/sys/fs/cgroup";

  // Reads the keys:: entries of `config` into the durations above. Throws ConfigError for a
  // value that is not a positive number.
  void apply(const Config& config);
};

// What the supervisor knows about one slot, for its reports and for tests.
struct SlotView {
  std::int64_t port = 0;
  std::string topology_id;  // the assigned topology, else the one that last ran here
  std::int64_t version = 0;
  int pid = 0;  // 0 when no worker runs
  bool running = false;
  bool stopping = false;      // SIGTERM sent, not yet reaped
  std::int64_t restarts = 0;  // restarts after crashes and heartbeat timeouts
  int starts = 0;             // processes started for this topology, for tests
  std::string last_exit;      // "exit 3", "signal 9", or empty
  // The last error line of worker.log since the topology came to the slot, or empty: the
  // worker's own, or the supervisor's for the slot (a crash, a plugin that cannot be fetched
  // or verified, a damaged assignment file), which it writes there too.
  std::string last_error;
  std::int64_t uptime_secs = 0;
};

// Thread: one owner, the supervisor daemon's thread (supervisor/daemon.hpp) or a test.
class Supervisor {
 public:
  // Logs to `logger`, or when null to a logger of its own (stderr and options.log_file).
  // Workers with a memory limit go into cgroups of `cgroups` when given (its memory.max is their
  // limit), else get RLIMIT_AS (PosixLauncher).
  // REQUIRES: `launcher` and `clock` outlive the supervisor.
  Supervisor(SupervisorOptions options, RpcCall rpc, ProcessLauncher& launcher,
             const common::Clock& clock, std::shared_ptr<spdlog::logger> logger = nullptr,
             std::unique_ptr<CgroupTree> cgroups = nullptr);
  // Removes the cgroups of the workers (logging what cannot be removed).
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Sends supervisor_heartbeat and applies the assignments of the reply. Returns false when
  // nimbus did not answer or answered with an error (then the last assignments stay in force).
  bool heartbeat();
  // Whether a heartbeat is due: the period has passed, or a worker asked for a newer assignment.
  bool heartbeat_due() const;

  // Takes `assignments` (the list of a supervisor_heartbeat reply) as the wanted state of every
  // slot: ports missing from it are unassigned; an entry {port, topology_id, keep: true} (a
  // topology whose record nimbus lost) keeps the slot's current assignment of that topology.
  // Fetches missing plugins and writes assignment files. Throws cluster::ProtocolError for a
  // malformed list (nothing is changed then).
  void apply_assignments(const List& assignments);

  // Reaps ended workers, starts and restarts the ones due, kills stale and unassigned ones, and
  // escalates to SIGKILL after the grace period. Call it often (every 100 ms or so).
  void supervise();

  // The drain steps of Daemon::stop(): stops every worker (SIGTERM now, SIGKILL after the grace
  // period via supervise()) and from now on starts none. stopped() tells when all are reaped.
  void begin_shutdown();
  bool stopped() const;
  // SIGKILL to every worker still running (a second Ctrl-C during the shutdown).
  void kill_all();

  // The body of a supervisor_heartbeat request.
  Map heartbeat_body() const;
  std::optional<SlotView> slot(std::int64_t port) const;
  const SupervisorOptions& options() const noexcept { return options_; }

 private:
  struct Wanted;
  struct Slot;
  void start_worker(Slot& slot);
  void stop_worker(Slot& slot, const char* why);
  std::chrono::milliseconds backoff(int crashes_in_a_row) const;
  void on_exit(Slot& slot, const ExitStatus& status);
  void check_heartbeat(Slot& slot);
  void write_assignment(Slot& slot);
  // Reads back the slot's assignment file when it was written before; when it is unreadable, fails
  // its checksum or holds another assignment than the one last written, logs one line and makes
  // write_assignment() write it again.
  void check_assignment_file(Slot& slot);
  void note_error(const Slot& slot, const std::string& line) const;
  // Puts the worker about to start into the slot's cgroup with its memory limit, when there is a
  // cgroup tree; falls back to RLIMIT_AS with a log line when the cgroup cannot be set up.
  void limit_in_cgroup(Slot& slot, LaunchSpec& spec);
  // After the slot's worker ended: whether the OOM killer ended it; removes its cgroup.
  bool killed_out_of_memory(Slot& slot);
  std::filesystem::path worker_dir(std::int64_t port) const;
  SlotView view(const Slot& slot) const;
  std::int64_t now_ns() const { return clock_.now_ns(); }

  // Constant after construction.
  const SupervisorOptions options_;
  const RpcCall rpc_;
  ProcessLauncher& launcher_;
  const common::Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  const std::unique_ptr<CgroupTree> cgroups_;  // null: memory limits are RLIMIT_AS

  PluginCache plugins_;
  std::map<std::int64_t, std::unique_ptr<Slot>> slots_;
  std::int64_t last_heartbeat_ns_ = 0;
  bool heartbeat_wanted_ = true;
  bool shutting_down_ = false;
  bool nimbus_reachable_ = true;  // for logging the transitions only
};

}  // namespace gale::supervisor
