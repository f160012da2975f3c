// The connectors on a real cluster: a Redis stream read by RedisStreamSpout on two worker
// processes, written to PostgreSQL by PostgresBolt, while workers are SIGKILLed. Both servers are
// the test's own (tests/support/), on free loopback ports, killed by pid when the test ends.

#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/cluster/harness.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/redis_server.hpp"

using namespace std::chrono_literals;
using gale::test::Cluster;
using gale::test::eventually;
using gale::test::plugin;
using gale::test::PostgresServer;
using gale::test::RedisServer;

namespace {

constexpr const char* k_stream = "ids";
constexpr const char* k_group = "gale";  // RedisStreamSpout's default group
constexpr const char* k_table = "delivered";

// SIGKILLs the worker on slot `port`; false when no worker runs there.
bool kill_worker_on(const Cluster& cluster, int port) {
  for (const auto& [pid, slot] : cluster.workers()) {
    if (slot != port) continue;
    MESSAGE("killing worker pid " << pid << " (port " << slot << ")");
    return ::kill(pid, SIGKILL) == 0;
  }
  return false;
}

}  // namespace

TEST_SUITE("cluster_connectors") {
  TEST_CASE("100,000 Redis entries reach PostgreSQL on 2 workers through two killed workers; "
            "none left pending") {
    constexpr int k_entries = 100'000;
    RedisServer redis;
    PostgresServer postgres;
    postgres.query(std::string("CREATE TABLE ") + k_table + " (id bigint NOT NULL)");
    redis.add_entries(k_stream, "id", 0, k_entries);
    // Declared after the servers: destroyed first, so no worker outlives them.
    Cluster cluster(1, 2);

    const auto submit = cluster.submit(
        plugin("cluster_redis_to_postgres"), "r2p",
        {"-c", "redis.url=" + redis.url(), "-c", std::string("redis.stream=") + k_stream, "-c",
         "postgres.conninfo=" + postgres.conninfo(), "-c",
         std::string("postgres.table=") + k_table});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);
    REQUIRE(eventually([&] { return cluster.workers().size() == 2; }, 30s));
    const int first_port = cluster.workers()[0].second;
    const int second_port = cluster.workers()[1].second;

    const std::string distinct_sql = std::string("SELECT count(DISTINCT id) FROM ") + k_table;
    auto stored = [&] { return postgres.scalar(distinct_sql); };
    auto status = [&] { return cluster.gale("status", {"r2p"}).output; };

    // Each kill waits for progress in the table first, so that it lands mid-stream.
    REQUIRE_MESSAGE(eventually([&] { return stored() >= 20'000; }, 60s), status());
    REQUIRE(kill_worker_on(cluster, first_port));
    const std::int64_t at_first_kill = stored();
    REQUIRE_MESSAGE(eventually([&] { return cluster.workers().size() == 2; }, 30s), status());
    REQUIRE_MESSAGE(eventually([&] { return stored() >= at_first_kill + 20'000; }, 60s),
                    status());
    REQUIRE(kill_worker_on(cluster, second_port));

    const bool all = eventually([&] { return stored() == k_entries; }, 90s);
    auto pending = [&] { return redis.pending(k_stream, k_group); };
    const bool none_pending = eventually([&] { return pending() == 0; }, 30s);

    const auto row = postgres.query(std::string("SELECT count(*), count(DISTINCT id), min(id), "
                                                "max(id) FROM ") + k_table)[0];
    const std::int64_t rows = std::stoll(row[0]);
    const std::int64_t distinct = std::stoll(row[1]);
    MESSAGE(distinct << " of " << k_entries << " ids stored in " << rows << " rows: "
                     << rows - distinct << " duplicates (at-least-once replays)");
    INFO(status());
    CHECK(all);
    CHECK(distinct == k_entries);
    CHECK(row[2] == "0");
    CHECK(row[3] == std::to_string(k_entries - 1));
    CHECK(none_pending);
    CHECK(pending() == 0);
  }
}
