#include "connection.hpp"

#include <libpq-fe.h>

#include <utility>

namespace gale::bolts::postgres {
namespace {

// libpq's messages end with a newline (and may hold several lines): one line for reports.
std::string one_line(const char* text) {
  std::string s = text == nullptr ? "" : text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

}  // namespace

Connection::Connection(std::string conninfo, int connect_timeout_secs)
    : conninfo_(std::move(conninfo)), connect_timeout_(std::to_string(connect_timeout_secs)) {}

Connection::~Connection() { close(); }

Outcome Connection::connect() {
  close();
  // dbname first, expanded as the whole conninfo; connect_timeout after it overrides, so it is
  // passed only when the conninfo has none of its own.
  const bool own_timeout = conninfo_.find("connect_timeout") != std::string::npos;
  const char* keywords[] = {"dbname", own_timeout ? nullptr : "connect_timeout", nullptr};
  const char* values[] = {conninfo_.c_str(), connect_timeout_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return {};
  return {false, true, "", conn_ == nullptr ? "out of memory" : one_line(PQerrorMessage(conn_))};
}

bool Connection::connected() const noexcept {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

void Connection::close() noexcept {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

std::string Connection::address() const {
  if (conn_ == nullptr) return conninfo_;
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  const char* db = PQdb(conn_);
  return std::string(host ? host : "?") + ":" + (port ? port : "?") + "/" + (db ? db : "?");
}

Outcome Connection::exec(const std::string& sql) {
  if (!connected()) return {false, true, "", "not connected"};
  return outcome_of(PQexec(conn_, sql.c_str()));
}

Outcome Connection::exec(const std::string& sql, const std::vector<const Param*>& params) {
  if (!connected()) return {false, true, "", "not connected"};
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = *params[i];
    values[i] = p.null ? nullptr : p.data.data();
    lengths[i] = static_cast<int>(p.data.size());
    formats[i] = p.binary ? 1 : 0;
  }
  return outcome_of(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                 values.data(), lengths.data(), formats.data(), 0));
}

Outcome Connection::outcome_of(void* raw) {
  PGresult* result = static_cast<PGresult*>(raw);
  Outcome out;
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    PQclear(result);
    return out;
  }
  out.ok = false;
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  out.sqlstate = state == nullptr ? "" : state;
  out.message = one_line(result == nullptr ? PQerrorMessage(conn_) : PQresultErrorMessage(result));
  if (out.message.empty()) out.message = one_line(PQerrorMessage(conn_));
  PQclear(result);
  // Class 08 is a connection exception; 57P01-57P03: the server is shutting down or starting.
  out.connection_lost = PQstatus(conn_) != CONNECTION_OK || out.sqlstate.starts_with("08") ||
                        out.sqlstate.starts_with("57P");
  return out;
}

}  // namespace gale::bolts::postgres
