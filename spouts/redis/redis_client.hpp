#pragma once

// The Redis client code shared by RedisStreamSpout and RedisBolt: the server address, replies as
// plain values, and one connection that connects with a timeout and reconnects with backoff.
// Internal to libgale_redis: hiredis stays out of the connector's public headers.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>
#include <gale/config_schema.hpp>

namespace gale::spouts::redis {

struct Address {
  std::string host;
  int port = 6379;
  // "127.0.0.1:6379", for error messages.
  [[nodiscard]] std::string text() const;
};

// Parses "redis://HOST:PORT", "HOST:PORT" or "HOST" (port 6379). Throws gale::ConfigError naming
// `owner` and `key` when the port is not a number in [1, 65535] or the host is empty.
[[nodiscard]] Address parse_address(std::string_view url, std::string_view owner,
                                    std::string_view key);

// One reply, copied out of hiredis's reply tree.
struct Reply {
  enum class Kind { nil, status, error, integer, string, array };
  Kind kind = Kind::nil;
  std::int64_t integer = 0;
  std::string text;  // status, error and string replies
  std::vector<Reply> elements;

  [[nodiscard]] bool is_error() const noexcept { return kind == Kind::error; }
  [[nodiscard]] bool is_nil() const noexcept { return kind == Kind::nil; }
};

struct ClientOptions {
  Address address;
  std::string password;  // empty: no AUTH
  std::chrono::milliseconds connect_timeout{1000};
  // Bounds every reply the connection waits for, so a dead server cannot block a task.
  std::chrono::milliseconds read_timeout{2000};
  // Delay before reconnect attempt n: initial * 2^(n-1), capped at max.
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{5000};
};

// What ensure_connected() found.
enum class Link {
  up,       // connected before the call
  fresh,    // connected by this call: whatever the server held for this client must be set up again
  failed,   // an attempt was made and failed: error() says why; the next one waits for the backoff
  waiting,  // down, and the backoff delay has not passed yet
};

// A blocking connection with bounded waits that comes back after failures. Every I/O error closes
// it and schedules a reconnect; the caller learns of it as a nullopt reply and reports error().
// Thread: owned by one task (a spout's or a bolt's executor thread); not synchronised.
class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects when down and the backoff allows it (with AUTH when a password is set).
  Link ensure_connected(std::chrono::steady_clock::time_point now);
  [[nodiscard]] bool connected() const noexcept;

  // Sends one command and waits for its reply (an error reply is a reply). nullopt: the
  // connection broke and is closed; error() says why.
  std::optional<Reply> command(const std::vector<std::string>& argv);
  // Pipelining: queues a command without waiting; next_reply() sends what is queued and returns
  // the replies in order. REQUIRES: connected().
  void append(const std::vector<std::string>& argv);
  std::optional<Reply> next_reply();

  // Closes the connection (e.g. after an error reply that calls for a fresh start) and schedules
  // a reconnect. `reason` becomes error().
  void disconnect(std::string reason);

  // "redis at 127.0.0.1:6379: Connection refused" for the last failure.
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] const Address& address() const noexcept { return options_.address; }
  // Delay before the next reconnect attempt.
  [[nodiscard]] std::chrono::milliseconds backoff() const noexcept { return backoff_; }

 private:
  struct Context;  // hiredis's redisContext
  void broke(std::string what);

  const ClientOptions options_;
  std::unique_ptr<Context> context_;
  std::string error_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_attempt_{};
};

// client.ensure_connected(now), reporting a failed attempt through `out` (a spout's or a bolt's
// collector): "OWNER: redis at HOST:PORT: ERROR; retrying in N ms".
template <class Collector>
Link connect_reporting(Client& client, Collector& out, std::string_view owner,
                       std::chrono::steady_clock::time_point now) {
  const Link link = client.ensure_connected(now);
  if (link == Link::failed) {
    out.report_error(std::string(owner) + ": " + client.error() + "; retrying in " +
                     std::to_string(client.backoff().count()) + " ms");
  }
  return link;
}

// The connection keys both Redis components take (redis.url, redis.password, the timeouts and the
// reconnect backoff), added to `schema`.
void add_connection_keys(ConfigSchema& schema);
// ClientOptions from a config resolved against a schema with add_connection_keys(). Throws
// gale::ConfigError naming the key when redis.url is malformed.
[[nodiscard]] ClientOptions client_options(const Config& resolved, std::string_view owner);

// Renders the command for error messages: "HINCRBY counts the 1", long arguments shortened.
[[nodiscard]] std::string describe(const std::vector<std::string>& argv);

}  // namespace gale::spouts::redis
