#pragma once

// A real PostgreSQL server for the connector tests: initdb into a temporary directory, postgres
// listening on a free loopback port, killed by pid when the fixture goes (even when a test fails).
// As root (CI), the server runs as nobody: PostgreSQL refuses to run as root. Started with
// cluster::spawn_child, the server also dies with the test process, however it ends.

#include <sys/types.h>

#include <cstdint>
#include <string>
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
  void shut_down() noexcept;

  std::string dir_;
  std::string bin_;  // the PostgreSQL binaries' directory
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace gale::test
