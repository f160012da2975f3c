#include "tests/support/redis_server.hpp"

#include <cstdlib>
#include <stdexcept>

#include "cluster/child_process.hpp"
#include "tests/support/support.hpp"

namespace gale::test {

namespace {

spouts::redis::ClientOptions test_client(int port) {
  spouts::redis::ClientOptions options;
  options.address = {"127.0.0.1", port};
  options.reconnect_initial = std::chrono::milliseconds(1);
  options.reconnect_max = std::chrono::milliseconds(1);
  return options;
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options) : options_(options) {
  std::string pattern = (std::filesystem::temp_directory_path() / "gale-redis-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  port_ = options_.port != 0 ? options_.port : free_port();
  if (options_.start) start();
}

RedisServer::~RedisServer() {
  client_.reset();
  kill();
  std::error_code ignored;  // a leftover temporary directory is not worth failing a test for
  std::filesystem::remove_all(dir_, ignored);
}

void RedisServer::start() {
  if (pid_ > 0) return;
  const std::string port = std::to_string(port_);
  const std::string dir = dir_.string();
  const std::string log = (dir_ / "redis.log").string();
  std::vector<std::string> args{"redis-server", "--port", port, "--bind", "127.0.0.1",
                                "--dir", dir, "--logfile", log, "--save", "", "--daemonize", "no"};
  if (options_.appendonly) {
    args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  }
  pid_ = cluster::spawn_child(args);
  client_.reset();
  const bool ready = wait_until([&] {
    spouts::redis::Client probe(test_client(port_));
    if (probe.ensure_connected(std::chrono::steady_clock::now()) != spouts::redis::Link::fresh) {
      return false;
    }
    const std::optional<spouts::redis::Reply> pong = probe.command({"PING"});
    return pong && pong->text == "PONG";
  });
  if (!ready) throw std::runtime_error("redis-server on port " + port + " did not answer PING");
}

void RedisServer::kill() {
  cluster::kill_child(pid_);
  pid_ = -1;
  client_.reset();
}

spouts::redis::Client& RedisServer::client() {
  if (!client_ || !client_->connected()) {
    client_.emplace(test_client(port_));
    if (client_->ensure_connected(std::chrono::steady_clock::now()) !=
        spouts::redis::Link::fresh) {
      throw std::runtime_error(client_->error());
    }
  }
  return *client_;
}

spouts::redis::Reply RedisServer::command(const std::vector<std::string>& argv) {
  spouts::redis::Client& c = client();
  std::optional<spouts::redis::Reply> reply = c.command(argv);
  if (!reply) throw std::runtime_error(c.error());
  return std::move(*reply);
}

void RedisServer::add_entries(const std::string& stream, const std::string& field, int first,
                              int count) {
  constexpr int k_pipeline = 1000;
  for (int start = first; start < first + count; start += k_pipeline) {
    const int end = std::min(first + count, start + k_pipeline);
    spouts::redis::Client& c = client();
    for (int i = start; i < end; ++i) c.append({"XADD", stream, "*", field, std::to_string(i)});
    for (int i = start; i < end; ++i) {
      const std::optional<spouts::redis::Reply> reply = c.next_reply();
      if (!reply || reply->is_error()) {
        throw std::runtime_error("XADD failed: " + (reply ? reply->text : c.error()));
      }
    }
  }
}

std::int64_t RedisServer::pending(const std::string& stream, const std::string& group) {
  const spouts::redis::Reply reply = command({"XPENDING", stream, group});
  if (reply.is_error() || reply.elements.empty()) {
    throw std::runtime_error("XPENDING " + stream + " " + group + ": " + reply.text);
  }
  return reply.elements[0].integer;
}

}  // namespace gale::test
