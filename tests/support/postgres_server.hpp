#pragma once

// A real PostgreSQL server for the connector tests: initdb into a temporary directory, postgres
// listening on a free loopback port, killed by pid when the fixture goes (even when a test fails).
// As root (CI), the server runs as nobody: PostgreSQL refuses to run as root. The server dies
// with the fixture's own thread (PR_SET_PDEATHSIG), so it is forked from that thread even when a
// test calls stop() and start() from another: the parent-death signal follows the forking thread.

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gale::test {

// Thread: the test's.
class PostgresServer {
 public:
  // Creates the cluster (user "gale", trust authentication) and starts the server; throws
  // std::runtime_error with the server's log when it does not come up within 60 s.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A fast shutdown (SIGINT: committed work is kept), waited for.
  void stop();
  // Starts the server again on the same port and waits until it accepts connections.
  void start();

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] std::string conninfo() const;
  // Runs `sql`; the rows of its result as text. Throws std::runtime_error on an error.
  std::vector<std::vector<std::string>> query(const std::string& sql) const;
  // The single integer `sql` returns.
  std::int64_t scalar(const std::string& sql) const;

 private:
  pid_t spawn(const std::vector<std::string>& argv, const std::string& log);
  std::string log_tail() const;
  void keep();  // the spawning thread's loop
  void shut_down() noexcept;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> spawn_argv_;  // a request for the spawning thread
  std::string spawn_log_;
  pid_t spawned_ = 0;                    // its answer: a pid, or -1 when fork failed
  bool quit_ = false;
  std::thread keeper_;

  std::string dir_;
  std::string bin_;  // the PostgreSQL binaries' directory
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace gale::test
