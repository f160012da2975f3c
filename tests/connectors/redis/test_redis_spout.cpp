#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include <gale/gale.hpp>
#include <gale/spouts/redis_stream_spout.hpp>

#include "tests/support/redis_server.hpp"
#include "tests/connectors/redis/redis_topologies.hpp"
#include "tests/support/support.hpp"
#include "worker/worker.hpp"

// RedisStreamSpout against a real redis-server: every entry delivered at least once and nothing
// left pending, through failures downstream, a consumer that died, a server restart and a server
// that is not there yet.

using namespace gale;
using namespace std::chrono_literals;
using gale::test::Ledger;
using gale::test::RedisServer;
using gale::test::RedisServerOptions;
using gale::test::wait_until;

namespace {

constexpr const char* k_stream = "entries";
constexpr const char* k_group = "gale";

Config spout_config(const RedisServer& server) {
  Config c;
  c.set("redis.url", server.url());
  c.set("redis.stream", k_stream);
  c.set("redis.fields", "n");
  c.set("redis.retry.initial.ms", 10);
  c.set("redis.retry.max.ms", 200);
  c.set("redis.reconnect.max.ms", 200);
  return c;
}

Topology spout_topology(const Config& spout, const std::shared_ptr<Ledger>& ledger,
                        int fail_one_in, int always_fail = -1) {
  TopologyBuilder b;
  b.set_spout("entries", make<spouts::RedisStreamSpout>(spout), 2);
  b.set_bolt("sink", make<test::CheckingSink>(ledger, fail_one_in, always_fail), 2)
      .shuffle_grouping("entries");
  b.set_bolt("errors", make<test::ErrorSink>(ledger), 1).shuffle_grouping("entries", "errors");
  return b.build();
}

Config run_config() {
  Config c;
  c.set(keys::topology_max_spout_pending, 1000);
  c.set(keys::topology_message_timeout_secs, 30);
  return c;
}

// Every entry delivered, then nothing pending in the group, within `limit`.
void check_all_delivered(RedisServer& server, const std::shared_ptr<Ledger>& ledger, int entries,
                         std::chrono::milliseconds limit) {
  const bool delivered = wait_until([&] { return ledger->delivered_count() == entries; }, limit);
  CHECK_MESSAGE(delivered, ledger->delivered_count() << " of " << entries << " delivered");
  const bool settled = wait_until([&] { return server.pending(k_stream, k_group) == 0; }, 20s);
  CHECK_MESSAGE(settled, server.pending(k_stream, k_group) << " entries still pending");
}

}  // namespace

TEST_SUITE("connector_redis") {
  TEST_CASE("100,000 entries with about 5% failed downstream: all delivered, none pending") {
    constexpr int k_entries = 100'000;
    RedisServer server;
    server.add_entries(k_stream, "n", 0, k_entries);
    auto ledger = std::make_shared<Ledger>(k_entries);
    worker::Worker w(spout_topology(spout_config(server), ledger, 20), run_config());
    w.start();
    check_all_delivered(server, ledger, k_entries, 240s);
    w.stop();
    std::lock_guard lock(ledger->mutex);
    // The hash picked about 5%, and each was emitted again after its failure.
    CHECK(ledger->failed_once.size() > k_entries * 4 / 100);
    CHECK(ledger->failed_once.size() < k_entries * 6 / 100);
    CHECK(ledger->reasons.empty());
    MESSAGE("failed once: " << ledger->failed_once.size());
  }

  TEST_CASE("entries a dead consumer left pending are claimed and processed") {
    constexpr int k_entries = 2000;
    RedisServer server;
    server.add_entries(k_stream, "n", 0, k_entries);
    REQUIRE(server.command({"XGROUP", "CREATE", k_stream, k_group, "0"}).text == "OK");
    // A consumer reads 700 entries and dies without acking them.
    const auto taken =
        server.command({"XREADGROUP", "GROUP", k_group, "dead", "COUNT", "700", "STREAMS",
                        k_stream, ">"});
    REQUIRE(taken.elements.size() == 1);
    REQUIRE(server.pending(k_stream, k_group) == 700);
    Config spout = spout_config(server);
    spout.set("redis.claim.min.idle.ms", 300);
    spout.set("redis.claim.interval.ms", 100);
    auto ledger = std::make_shared<Ledger>(k_entries);
    worker::Worker w(spout_topology(spout, ledger, 0), run_config());
    w.start();
    check_all_delivered(server, ledger, k_entries, 60s);
    w.stop();
  }

  TEST_CASE("redis-server killed and restarted mid-run: nothing lost") {
    constexpr int k_before = 20'000, k_after = 5'000;
    RedisServer server(RedisServerOptions{.appendonly = true});
    server.add_entries(k_stream, "n", 0, k_before);
    auto ledger = std::make_shared<Ledger>(k_before + k_after);
    ledger->hold_after = 3000;  // the sinks stop there until the server is down
    worker::Worker w(spout_topology(spout_config(server), ledger, 20), run_config());
    w.start();
    REQUIRE(wait_until([&] { return ledger->delivered_count() >= 3000; }, 60s));
    server.kill();
    CHECK(ledger->delivered_count() < k_before);  // mid-run
    const std::uint64_t errors_before = test::stats_of(w.stats(), "entries").errors;
    ledger->release();
    // The spout finds the server gone (acks and reads fail) and says so.
    CHECK(wait_until([&] { return test::stats_of(w.stats(), "entries").errors > errors_before; },
                     20s));
    server.start();
    server.add_entries(k_stream, "n", k_before, k_after);
    check_all_delivered(server, ledger, k_before + k_after, 120s);
    w.stop();
  }

  TEST_CASE("a server unreachable at start is reported, and the spout reads once it is there") {
    constexpr int k_entries = 1000;
    RedisServer server(RedisServerOptions{.start = false});
    auto ledger = std::make_shared<Ledger>(k_entries);
    worker::Worker w(spout_topology(spout_config(server), ledger, 0), run_config());
    w.start();
    const std::string address = "127.0.0.1:" + std::to_string(server.port());
    CHECK(wait_until(
        [&] {
          return test::stats_of(w.stats(), "entries").last_error.find(address) != std::string::npos;
        },
        20s));
    MESSAGE("reported: " << test::stats_of(w.stats(), "entries").last_error);
    server.start();
    server.add_entries(k_stream, "n", 0, k_entries);
    check_all_delivered(server, ledger, k_entries, 60s);
    w.stop();
  }

  TEST_CASE("an entry without a mapped field, or failed beyond the retries, goes to the error "
            "stream and is acked") {
    constexpr int k_entries = 100;
    RedisServer server;
    server.add_entries(k_stream, "n", 0, k_entries);
    const std::string odd = server.command({"XADD", k_stream, "*", "other", "x"}).text;
    Config spout = spout_config(server);
    spout.set("redis.retry.max", 2);
    auto ledger = std::make_shared<Ledger>(k_entries);
    worker::Worker w(spout_topology(spout, ledger, 0, 7), run_config());
    w.start();
    CHECK(wait_until([&] { return ledger->delivered_count() == k_entries - 1; }, 30s));
    CHECK(wait_until(
        [&] {
          std::lock_guard lock(ledger->mutex);
          return ledger->reasons.size() == 2;
        },
        30s));
    CHECK(wait_until([&] { return server.pending(k_stream, k_group) == 0; }, 20s));
    w.stop();
    std::lock_guard lock(ledger->mutex);
    REQUIRE(ledger->reasons.size() == 2);
    const std::set<std::string> reasons(ledger->reasons.begin(), ledger->reasons.end());
    CHECK(reasons.count("entry " + odd + " of stream 'entries' has no field 'n'") == 1);
    CHECK(std::count_if(reasons.begin(), reasons.end(), [](const std::string& r) {
            return r.find("failed 3 times (redis.retry.max is 2)") != std::string::npos;
          }) == 1);
    CHECK(std::count(ledger->positions.begin(), ledger->positions.end(),
                     std::string(k_stream) + "/" + odd) == 1);
  }

  TEST_CASE("an invalid spout config fails the build naming the key") {
    const auto error_of = [](const Config& c) {
      return test::build_error([&] {
        TopologyBuilder b;
        b.set_spout("entries", make<spouts::RedisStreamSpout>(c), 1);
        (void)b.build();
      });
    };
    Config c;
    c.set("redis.fields", "n");
    CHECK(error_of(c).find("'redis.stream' is required") != std::string::npos);
    c.set("redis.stream", "s");
    c.set("redis.url", "redis://127.0.0.1:99999");
    CHECK(error_of(c).find("'redis.url'") != std::string::npos);
    c.set("redis.url", "redis://127.0.0.1:6379");
    c.set("redis.read.cont", 5);
    CHECK(error_of(c).find("did you mean 'redis.read.count'") != std::string::npos);
    c.erase("redis.read.cont");
    c.set("redis.start.id", "yesterday");
    CHECK(error_of(c).find("'redis.start.id'") != std::string::npos);
    c.set("redis.start.id", "$");
    c.set("redis.fields", "n:m, k:m");
    CHECK(error_of(c).find("tuple field 'm' appears twice") != std::string::npos);
  }
}
