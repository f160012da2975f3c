#pragma once

// A whole Gale cluster on this machine, for the cluster tests and the benchmark: nimbus and
// supervisors of a given gale executable on loopback ports picked free, and through them workers.
// Everything lives under one temporary directory; every process started for a LocalCluster, and
// every worker its supervisors start, is SIGKILLed when it is destroyed — and, should the process
// owning it be killed, by a reaper process that outlives it. Not part of the gale command.
// Plus what starting processes needs: run a program with a timeout, poll for a condition, pick a
// free port.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace gale::cluster {

// A TCP port on 127.0.0.1 that nobody listens on right now: the kernel's pick for a bind to port
// 0, released again (good enough on one machine; another process may take it before it is used).
// Throws std::runtime_error when no socket can be bound.
int free_port();

struct CommandResult {
  int exit_code = -1;  // 128 + the signal when it was killed
  std::string output;  // stdout and stderr
};

// Runs the program argv[0] (a path, or a name looked up in PATH) with `argv`, waits at most
// `timeout` (then SIGKILLs it), and captures its stdout and stderr. The program is SIGKILLed too if
// the calling process dies first. An argv[0] that cannot be run exits with 127. Throws
// std::runtime_error when no pipe can be made. Any thread.
CommandResult run_program(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls `condition` every 100 ms until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

struct LocalClusterOptions {
  std::string gale;     // REQUIRED: the gale executable the daemons run
  int supervisors = 1;  // each with `slots` worker slots
  int slots = 1;
  // -c KEY=VALUE for nimbus and every supervisor; nimbus.supervisor.timeout.secs defaults to 3
  // and supervisor.worker.timeout.secs to 5 (quick failure detection) unless given here.
  std::map<std::string, std::string> config;
};

// Thread: one owner.
class LocalCluster {
 public:
  // Makes the directory, starts the reaper, nimbus and the supervisors (without waiting for them to
  // be ready: poll with eventually()). Throws std::runtime_error when the directory cannot be made
  // or no free port is found.
  explicit LocalCluster(LocalClusterOptions options);
  // SIGKILLs every process of the cluster and removes its directory (kept when the environment
  // variable GALE_KEEP_TEST_DIR is set).
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  // The temporary directory: daemon logs (nimbus.out, supN.out) and state (nimbus/, supN/).
  const std::string& dir() const noexcept { return dir_; }
  std::string nimbus_address() const;
  // `gale VERB --nimbus ADDRESS ARGS...`.
  CommandResult gale(const std::string& verb, std::vector<std::string> args = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // `gale submit PLUGIN --name NAME ARGS...`, retried for up to 30 s while nimbus reports too few
  // free slots (supervisors register within a heartbeat or two of starting). Returns the last try.
  CommandResult submit(const std::string& plugin, const std::string& name,
                       std::vector<std::string> args = {});

  void kill_nimbus();  // SIGKILL
  void start_nimbus();
  // SIGKILL the supervisor and every worker it started: the node dies.
  void kill_node(int supervisor);
  // Sends `signal` to the supervisor and every worker it started (SIGSTOP and SIGCONT: a node cut
  // off and back; 0 sends nothing); returns the workers' pids.
  std::vector<pid_t> signal_node(int supervisor, int signal);
  // Worker processes alive now (pid, slot port), found through /proc by this cluster's directory.
  std::vector<std::pair<pid_t, int>> workers() const;

 private:
  pid_t spawn(const std::vector<std::string>& args, const std::string& log);
  void start_supervisor(int index);
  std::vector<std::string> config_args() const;

  // Constant after construction:
  std::string gale_;
  std::string dir_;
  int nimbus_port_ = 0;
  std::map<std::string, std::string> config_;
  std::vector<std::vector<int>> supervisor_ports_;
  pid_t reaper_ = -1;

  // Alive daemons (-1: killed):
  pid_t nimbus_ = -1;
  std::vector<pid_t> supervisors_;
};

}  // namespace gale::cluster
