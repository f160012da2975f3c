#pragma once

// Starting, watching and signalling worker processes, behind an interface so that the
// supervisor's restart logic is tested with a fake (tests/unit/test_supervisor.cpp) instead of
// real processes and real time.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gale::supervisor {

// How a process ended.
struct ExitStatus {
  bool signaled = false;  // killed by a signal rather than exiting
  int code = 0;           // the exit code, or the signal number when `signaled`

  static ExitStatus exited(int code) { return {false, code}; }
  static ExitStatus killed_by(int signal) { return {true, signal}; }
  // "exit 3" or "signal 9", as the supervisor reports it to nimbus.
  std::string describe() const;
};

// One process to start.
struct LaunchSpec {
  std::string program;            // absolute path of the executable
  std::vector<std::string> args;  // argv[1..]; argv[0] is `program`
  std::string output_path;        // stdout and stderr are appended to this file
  // > 0: the process may use this many MB of memory (see PosixLauncher::launch).
  std::int64_t memory_limit_mb = 0;
  // Set: the cgroup v2 directory the process is moved into, whose memory.max is its limit
  // (supervisor/cgroup_tree.hpp); memory_limit_mb is then not applied as RLIMIT_AS.
  std::string cgroup_dir;
};

// The pid of the started process, or why it could not start.
struct LaunchResult {
  int pid = -1;       // > 0 on success
  std::string error;  // set when pid <= 0
};

// Thread: the supervisor's thread.
class ProcessLauncher {
 public:
  virtual ~ProcessLauncher();
  // Starts a process in a new process group (its pid is the group id), with SIGINT and SIGTERM
  // unblocked and at their default action. Never throws; failures are in the result.
  virtual LaunchResult launch(const LaunchSpec& spec) = 0;
  // Reaps `pid` when it has ended, without waiting: nullopt while it still runs.
  virtual std::optional<ExitStatus> reap(int pid) = 0;
  // Sends `signal` to the process group of `pid` (a worker's own children die with it).
  virtual void signal(int pid, int signal) = 0;
};

// Address space the margin of a memory limit adds for what a process reserves without using:
// thread stacks, malloc's per-thread arenas, the mappings of its libraries.
inline constexpr std::int64_t k_address_space_margin_mb = 1024;

// Whether the memory limit is enforced in this build: RLIMIT_AS cannot be used under
// AddressSanitizer or ThreadSanitizer, whose shadow memory reserves terabytes of address space.
bool memory_limit_supported() noexcept;

// Real processes: posix_spawn and waitpid(WNOHANG). A memory limit is RLIMIT_AS of
// memory_limit_mb + k_address_space_margin_mb, set with prlimit(2) on the new process right
// after the spawn (posix_spawn has no attribute for it, and between fork and exec a
// multi-threaded supervisor may only make async-signal-safe calls), long before the worker has
// loaded its plugin; an allocation beyond it throws std::bad_alloc in the worker. Not applied
// when !memory_limit_supported(). With a spec.cgroup_dir the pid is written to its cgroup.procs
// instead, right after the spawn too: the worker runs outside its cgroup only while it execs,
// before it allocates anything of its own. A process that cannot be limited is killed, reaped and
// reported as not started. Thread: the supervisor's thread.
class PosixLauncher final : public ProcessLauncher {
 public:
  ~PosixLauncher() override;
  LaunchResult launch(const LaunchSpec& spec) override;
  std::optional<ExitStatus> reap(int pid) override;
  void signal(int pid, int signal) override;
};

}  // namespace gale::supervisor
