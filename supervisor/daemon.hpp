#pragma once

// The supervisor service: a supervisor::Supervisor driven on a thread of its own. While it runs
// the thread heartbeats nimbus when due and supervises the workers every 100 ms; stop() stops
// every worker (SIGTERM, then SIGKILL after the grace period) and then the thread. Lifecycle, the
// same as nimbus::Daemon's: construct (nothing runs), start(), stop() (drains, then nothing runs),
// destroy. Nimbus, processes and time are injected, so tests run it without sockets or processes.

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/state_lock.hpp"
#include "supervisor/launcher.hpp"
#include "supervisor/plugin_cache.hpp"
#include "supervisor/supervisor.hpp"

namespace spdlog {
class logger;
}

namespace gale::supervisor {

// Thread: start(), stop() and kill_workers() are called by controlling threads (the
// `gale supervisor` main thread, or a test); the Supervisor, the launcher and `rpc` are used only
// by the daemon's own thread while it runs.
class Daemon {
 public:
  // Nothing runs until start(). An empty options.id is replaced by stable_id() in start().
  // REQUIRES: `launcher` and `clock` outlive the daemon.
  Daemon(SupervisorOptions options, RpcCall rpc, ProcessLauncher& launcher,
         const common::Clock& clock);
  ~Daemon();  // stop()
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Locks options.state_dir (common::StateLock) before anything in it is read or changed, opens
  // the log (options.log_file), settles the id (stable_id), kills the workers an earlier run
  // left behind (kill_leftover_workers), then starts the daemon's thread: heartbeats,
  // assignments, worker starts and restarts. Throws gale::Error when another process holds the
  // state directory (one line naming the directory and its pid: its workers are left alone) or
  // when the directory cannot be used; nothing runs then.
  // REQUIRES: start() was not called before.
  void start();

  // Drains, then stops: no more heartbeats, assignments or worker starts; every worker gets
  // SIGTERM and, when it still runs options.kill_grace later (on the injected clock), SIGKILL.
  // Returns once every worker is reaped and the thread has ended; gives up waiting for workers
  // (logging an error) kill_grace + 5 s of real time after the SIGTERMs. Idempotent; a no-op
  // before start(). Never throws.
  void stop();

  // SIGKILL to every worker still running, at once (a second Ctrl-C while stop() drains).
  // Callable from any thread; a no-op unless stop() is draining.
  void kill_workers();

  // The daemon's logger (stderr and options.log_file), for the controlling thread's lines too:
  // one format for everything the supervisor logs. REQUIRES: start() succeeded.
  const std::shared_ptr<spdlog::logger>& logger() const noexcept { return logger_; }

 private:
  enum class State { created, running, stopping, killing, stopped };
  void run();
  void drain();

  // Constant after start() (which settles the id).
  SupervisorOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::optional<common::StateLock> lock_;  // held from start() to the end of stop()
  const RpcCall rpc_;
  ProcessLauncher& launcher_;
  const common::Clock& clock_;

  // The one stopping mechanism: the controlling threads move it forward, the daemon's thread
  // waits on it between rounds. Protected by mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;
  State state_ = State::created;

  // Owned by the daemon's thread between start() and the end of stop().
  std::unique_ptr<Supervisor> supervisor_;
  std::thread thread_;
};

// Calls nimbus at `address` (HOST:PORT) over ZeroMQ. Heartbeats wait 2 s for a reply, so that the
// workers stay watched while nimbus is down; plugin chunks (up to 4 MiB) wait 15 s. The function
// owns its context and sockets; call it from one thread at a time. Throws gale::Error for an
// address that is not HOST:PORT.
RpcCall nimbus_rpc(const std::string& address);

// The supervisor's id: `given` when set (REQUIRES: is_safe_topology_id(*given)), else the one kept
// in state_dir/supervisor.id, else a new one made of the host name and a random suffix and kept
// there, so that a restarted supervisor is the same one to nimbus.
std::string stable_id(const std::optional<std::string>& given,
                      const std::filesystem::path& state_dir);

// Kills (SIGKILL to the process group) the workers an earlier run of a supervisor with this state
// directory left behind, e.g. after it was killed with SIGKILL: they still hold their data ports.
// A worker is recognised by D/workers/<port>/worker.pid and a command line naming its directory.
// Waits up to two seconds for them to end. Returns how many it killed, logging each to `log`.
// REQUIRES: the caller holds the state directory's lock (else it would kill the workers of the
// supervisor that does).
int kill_leftover_workers(const std::filesystem::path& state_dir,
                          const std::vector<std::int64_t>& ports, spdlog::logger& log);

}  // namespace gale::supervisor
