#include "tests/support/postgres_server.hpp"

#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cluster/child_process.hpp"
#include "tests/support/support.hpp"

namespace gale::test {
namespace {

namespace fs = std::filesystem;

// The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/N/bin).
std::string find_binaries() {
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int version = std::atoi(name.c_str());
    if (version > best_version && fs::exists(entry.path() / "bin" / "postgres")) {
      best_version = version;
      best = (entry.path() / "bin").string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): run "
        "scripts/setup-deps.sh");
  }
  return best;
}

// Waits for `pid` up to `limit`; true when it ended.
bool reap(pid_t pid, std::chrono::milliseconds limit) {
  return cluster::wait_child(pid, limit).has_value();
}

}  // namespace

PostgresServer::PostgresServer() : bin_(find_binaries()), port_(free_port()) {
  try {
    char pattern[] = "/tmp/gale-postgres-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    if (geteuid() == 0 && chown(dir_.c_str(), 65534, 65534) != 0) {
      throw std::runtime_error("cannot hand " + dir_ + " to nobody");
    }
    const pid_t initdb = spawn({bin_ + "/initdb", "-D", dir_ + "/data", "-U", "gale",
                                "--auth=trust", "-E", "UTF8", "--no-sync"},
                               dir_ + "/initdb.log");
    if (!reap(initdb, std::chrono::seconds(60))) {
      cluster::kill_child(initdb);
      throw std::runtime_error("initdb did not finish within 60 s");
    }
    if (!fs::exists(dir_ + "/data/PG_VERSION")) {
      std::ifstream log(dir_ + "/initdb.log");
      std::stringstream text;
      text << log.rdbuf();
      throw std::runtime_error("initdb failed: " + text.str());
    }
    start();
  } catch (...) {
    shut_down();  // no destructor runs for a constructor that throws
    throw;
  }
}

PostgresServer::~PostgresServer() { shut_down(); }

void PostgresServer::shut_down() noexcept {
  cluster::kill_child(pid_);
  pid_ = -1;
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

pid_t PostgresServer::spawn(const std::vector<std::string>& argv, const std::string& log) {
  cluster::ChildOptions options;
  options.output = log;
  options.as_nobody_when_root = true;
  return cluster::spawn_child(argv, options);
}

void PostgresServer::start() {
  pid_ = spawn({bin_ + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=40"},
               dir_ + "/postgres.log");
  const std::string info = conninfo();
  const bool up = wait_until([&] { return PQping(info.c_str()) == PQPING_OK; },
                             std::chrono::seconds(60));
  if (!up) throw std::runtime_error("postgres did not start within 60 s: " + log_tail());
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGINT);
  if (!reap(pid_, std::chrono::seconds(60))) cluster::kill_child(pid_);
  pid_ = -1;
}

std::string PostgresServer::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " dbname=postgres user=gale connect_timeout=5";
}

std::vector<std::vector<std::string>> PostgresServer::query(const std::string& sql) const {
  PGconn* conn = PQconnectdb(conninfo().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot connect to the test server: " + error);
  }
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string error = PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
    throw std::runtime_error(sql + ": " + error);
  }
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(result); ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < PQnfields(result); ++c) {
      row.emplace_back(PQgetisnull(result, r, c) ? "NULL" : PQgetvalue(result, r, c));
    }
    rows.push_back(std::move(row));
  }
  PQclear(result);
  PQfinish(conn);
  return rows;
}

std::int64_t PostgresServer::scalar(const std::string& sql) const {
  const auto rows = query(sql);
  if (rows.size() != 1 || rows[0].size() != 1) throw std::runtime_error(sql + ": not one value");
  return std::stoll(rows[0][0]);
}

std::string PostgresServer::log_tail() const {
  std::ifstream log(dir_ + "/postgres.log");
  std::stringstream text;
  text << log.rdbuf();
  const std::string all = text.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

}  // namespace gale::test
