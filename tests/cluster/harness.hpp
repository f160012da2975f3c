#pragma once

// Starts and tears down real Gale processes (nimbus, supervisors, and through them workers) on
// loopback for the cluster tests. Everything lives under one temporary directory; every process a
// test starts, and every worker a supervisor starts for it, is killed when the Cluster is destroyed
// — and, should the test process itself be killed, by a reaper process that outlives it.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/support/support.hpp"

namespace gale::test {


struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs the program argv[0] (a path, or a name looked up in PATH) with `argv`, waits at most
// `timeout` (then SIGKILLs it), and captures its stdout and stderr. The program is SIGKILLed too if
// the calling process dies first.
CommandResult run_program(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Runs the gale command with `args`, waits at most `timeout`, and captures its output.
CommandResult run_gale(const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls `condition` every 100 ms until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Thread: the test's.
class Cluster {
 public:
  // Starts nimbus and `supervisors` supervisors with `slots` worker slots each.
  Cluster(int supervisors, int slots, std::map<std::string, std::string> config = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& dir() const noexcept { return dir_; }
  std::string nimbus_address() const;
  // `gale VERB --nimbus ADDRESS ARGS...`.
  CommandResult gale(const std::string& verb, std::vector<std::string> args = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // `gale submit PLUGIN --name NAME ARGS...`, retried while nimbus reports too few free slots
  // (supervisors register within a heartbeat or two of starting).
  CommandResult submit(const std::string& plugin, const std::string& name,
                       std::vector<std::string> args = {});

  void kill_nimbus();  // SIGKILL
  void start_nimbus();
  // SIGKILL the supervisor and every worker it started: the node dies.
  void kill_node(int supervisor);
  // Worker processes alive now (pid, slot port), found through /proc by this cluster's directory.
  std::vector<std::pair<pid_t, int>> workers() const;

 private:
  pid_t spawn(const std::vector<std::string>& args, const std::string& log);
  void start_supervisor(int index);
  std::vector<std::string> config_args() const;

  std::string dir_;
  int nimbus_port_ = 0;
  int slots_ = 0;
  std::map<std::string, std::string> config_;
  pid_t nimbus_ = -1;
  std::vector<pid_t> supervisors_;
  std::vector<std::vector<int>> supervisor_ports_;
  pid_t reaper_ = -1;
};

}  // namespace gale::test
