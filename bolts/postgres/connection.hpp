#pragma once

// A libpq connection as PostgresBolt uses it: connect, run a statement with text or binary
// parameters, and say whether a failure lost the connection or was the server's verdict on the
// data. libpq-fe.h stays in connection.cpp.

#include <string>
#include <vector>

struct pg_conn;

namespace gale::bolts::postgres {

struct Param {
  std::string data;     // text, or raw bytes when binary
  bool null = false;
  bool binary = false;  // bytea
};

struct Outcome {
  bool ok = true;
  bool connection_lost = false;  // the server is gone or the connection broke: try again later
  std::string sqlstate;          // e.g. 23505 (unique violation); empty when none
  std::string message;           // the server's or libpq's message, one line
};

// Thread: the bolt task's executor thread.
class Connection {
 public:
  // `conninfo`: a libpq connection string or URI; `connect_timeout_secs` applies unless it sets
  // connect_timeout itself.
  Connection(std::string conninfo, int connect_timeout_secs);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects (bounded by connect_timeout, which the bolt puts in the conninfo). The outcome's
  // message says why it failed.
  Outcome connect();
  [[nodiscard]] bool connected() const noexcept;
  void close() noexcept;
  // "host:port/dbname" as libpq understood the conninfo (no password), for messages.
  [[nodiscard]] std::string address() const;

  Outcome exec(const std::string& sql);
  Outcome exec(const std::string& sql, const std::vector<const Param*>& params);

 private:
  Outcome outcome_of(void* result);

  std::string conninfo_;
  std::string connect_timeout_;
  pg_conn* conn_ = nullptr;
};

}  // namespace gale::bolts::postgres
