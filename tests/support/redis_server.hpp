#pragma once

// A redis-server of the test's own: in a temporary directory, on a free loopback port, killed by
// pid when the fixture goes away (also when a check failed).

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "spouts/redis/redis_client.hpp"

namespace gale::test {

struct RedisServerOptions {
  // appendonly yes with appendfsync always: what was acknowledged survives a SIGKILL.
  bool appendonly = false;
  // 0: a free port.
  int port = 0;
  // Start at construction.
  bool start = true;
};

// Thread: the test's thread.
class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server (again: same port, same directory) and waits, at most 10 s, until it
  // answers PING. Throws std::runtime_error when it does not.
  void start();
  // SIGKILL and wait for the process. Nothing when it is not running.
  void kill();

  int port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // One command on the test's own connection. Throws std::runtime_error when the server does
  // not answer.
  spouts::redis::Reply command(const std::vector<std::string>& argv);
  // XADDs `count` entries {field: prefix + i} for i in [first, first + count), pipelined.
  void add_entries(const std::string& stream, const std::string& field, int first, int count);
  // Entries pending in `group` (XPENDING's count).
  std::int64_t pending(const std::string& stream, const std::string& group);

 private:
  spouts::redis::Client& client();

  RedisServerOptions options_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::optional<spouts::redis::Client> client_;
};

}  // namespace gale::test
