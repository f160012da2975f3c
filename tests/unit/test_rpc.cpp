// RpcClient against RpcServer in one process: replies reach their own request, a client survives a
// server that is not there yet or answers too late, and malformed replies are errors, not crashes.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "cluster/protocol.hpp"
#include "cluster/rpc.hpp"
#include "tests/support/support.hpp"

namespace {

using gale::List;
using gale::Map;
using gale::cluster::ProtocolError;
using gale::cluster::RpcClient;
using gale::cluster::RpcServer;
using gale::test::free_port;
using namespace std::chrono_literals;

std::string endpoint(int port) { return "tcp://127.0.0.1:" + std::to_string(port); }

// Serves on a thread of its own until destroyed. Each request is answered with `handler`.
class ServerThread {
 public:
  ServerThread(zmq::context_t& context, const std::string& at, RpcServer::Handler handler)
      : server_(context, at), thread_([this, handler] {
          while (!stop_) server_.poll(20ms, handler);
        }) {}
  ~ServerThread() {
    stop_ = true;
    thread_.join();
  }

 private:
  RpcServer server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Replies with the request's verb and its "n" field.
std::string echo(const std::string& bytes) {
  const auto request = gale::cluster::decode_request(bytes);
  return gale::cluster::encode_ok(
      Map{{"verb", request.verb}, {"n", gale::cluster::get_int(request.body, "n")}});
}

}  // namespace

TEST_SUITE("rpc") {
  TEST_CASE("a request gets its reply; an undecodable request gets an error reply") {
    zmq::context_t context;
    const std::string at = endpoint(free_port());
    ServerThread server(context, at, [](const std::string& bytes) {
      try {
        return echo(bytes);
      } catch (const ProtocolError& e) {
        return gale::cluster::encode_error(e.what());
      }
    });
    RpcClient client(context, at, 2s);
    for (std::int64_t n = 0; n < 20; ++n) {
      auto reply = client.call("ping", Map{{"n", n}});
      REQUIRE(reply);
      CHECK(reply->ok);
      CHECK(gale::cluster::get_string(reply->body, "verb") == "ping");
      CHECK(gale::cluster::get_int(reply->body, "n") == n);
    }
    auto missing = client.call("ping", Map{});
    REQUIRE(missing);
    CHECK_FALSE(missing->ok);
    CHECK(missing->error == "field 'n': missing");
  }

  TEST_CASE("no server: call gives up after its timeout; a server started later is reached") {
    zmq::context_t context;
    const int port = free_port();
    RpcClient client(context, endpoint(port), 200ms);
    const auto started = std::chrono::steady_clock::now();
    CHECK_FALSE(client.call("ping", Map{{"n", 1}}));
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited >= 150ms);
    CHECK(waited < 2s);

    ServerThread server(context, endpoint(port), echo);
    auto reply = client.call_with_retry("ping", Map{{"n", 2}}, 5s);
    REQUIRE(reply);
    CHECK(gale::cluster::get_int(reply->body, "n") == 2);
  }

  TEST_CASE("a reply that comes too late is never taken for the next request's reply") {
    zmq::context_t context;
    const std::string at = endpoint(free_port());
    // The first request is answered only once the client gave up on it. The server answers one
    // request at a time, so that late reply is on its way before any later request is served.
    std::promise<void> gave_up;
    std::shared_future<void> client_gave_up = gave_up.get_future().share();
    ServerThread server(context, at, [client_gave_up](const std::string& bytes) {
      const auto request = gale::cluster::decode_request(bytes);
      if (gale::cluster::get_int(request.body, "n") == 1) client_gave_up.wait_for(30s);
      return echo(bytes);
    });
    RpcClient client(context, at, 200ms);
    CHECK_FALSE(client.call("slow", Map{{"n", 1}}));
    gave_up.set_value();
    for (std::int64_t n = 2; n < 5; ++n) {
      auto reply = client.call_with_retry("fast", Map{{"n", n}}, 3s);
      REQUIRE(reply);
      CHECK(gale::cluster::get_string(reply->body, "verb") == "fast");
      CHECK(gale::cluster::get_int(reply->body, "n") == n);
    }
  }

  TEST_CASE("a malformed reply is a ProtocolError naming the problem") {
    zmq::context_t context;
    const std::string at = endpoint(free_port());
    ServerThread server(context, at, [](const std::string&) { return std::string("\xc1 junk"); });
    RpcClient client(context, at, 2s);
    try {
      client.call("ping", Map{{"n", 1}});
      FAIL("no ProtocolError");
    } catch (const ProtocolError& e) {
      CHECK(std::string(e.what()).find("msgpack") != std::string::npos);
    }
  }

  TEST_CASE("an assignment naming a task outside the int32 range is a ProtocolError") {
    // Assignment::from_map narrowed each task to int32, so task 2^32 + 5 silently became task 5:
    // a worker would run, and its peers route to, a task nimbus never gave it.
    Map worker{{"supervisor", "sup-a"}, {"host", "127.0.0.1"}, {"port", 6700},
               {"tasks", List{1, (std::int64_t{1} << 32) + 5}}};
    Map m{{"topology_id", "t-1-1"}, {"version", 1}, {"workers", List{worker}}};
    try {
      (void)gale::cluster::Assignment::from_map(m);
      FAIL("no ProtocolError");
    } catch (const ProtocolError& e) {
      CHECK(std::string(e.what()) == "field 'tasks': task 4294967301 is out of range");
    }
    worker["tasks"] = List{1, std::int64_t{-2147483648}, std::int64_t{2147483647}};
    m["workers"] = List{worker};
    const auto a = gale::cluster::Assignment::from_map(m);
    REQUIRE(a.workers.size() == 1);
    CHECK(a.workers[0].tasks == std::vector<std::int32_t>{-2147483647 - 1, 1, 2147483647});
  }
}
