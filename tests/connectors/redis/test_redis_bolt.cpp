#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gale/bolts/redis_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/fixed_tuple_spout.hpp>

#include "tests/support/redis_server.hpp"
#include "tests/connectors/redis/redis_topologies.hpp"
#include "tests/support/support.hpp"
#include "worker/worker.hpp"

// RedisBolt against a real redis-server: what it writes is in Redis, and an input is acked only
// after the server replied, failed when the reply is an error.

using namespace gale;
using namespace std::chrono_literals;
using gale::test::RedisServer;
using gale::test::wait_until;

namespace {

const std::vector<std::string> k_words = {"the", "cow", "jumped", "over", "moon"};

// (word, count) tuples: word i % 5 with count i % 3 + 1.
std::vector<Values> word_counts(int n) {
  std::vector<Values> out;
  for (int i = 0; i < n; ++i) out.push_back({k_words[i % 5], i % 3 + 1});
  return out;
}

Topology bolt_topology(std::vector<Values> tuples, const Config& bolt) {
  TopologyBuilder b;
  b.set_spout("words", make<spouts::FixedTupleSpout>(Fields({"word", "count"}), std::move(tuples)),
              1);
  b.set_bolt("redis", make<bolts::RedisBolt>(bolt), 2).shuffle_grouping("words");
  return b.build();
}

Config bolt_config(const RedisServer& server) {
  Config c;
  c.set("redis.url", server.url());
  c.set("redis.batch.size", 16);
  return c;
}

std::string build_error(const Config& c) {
  return test::build_error([&] { (void)bolt_topology({}, c); });
}

}  // namespace

TEST_SUITE("connector_redis") {
  TEST_CASE("RedisBolt XADDs each tuple's fields to the stream, and acks after the reply") {
    constexpr int k_tuples = 250;
    RedisServer server;
    Config bolt = bolt_config(server);
    bolt.set("redis.stream", "out");
    worker::Worker w(bolt_topology(word_counts(k_tuples), bolt), Config{});
    w.start();
    CHECK(wait_until([&] { return test::stats_of(w.stats(), "words").acked == k_tuples; }, 30s));
    w.stop();
    CHECK(test::stats_of(w.stats(), "words").failed == 0);
    const auto entries = server.command({"XRANGE", "out", "-", "+"});
    REQUIRE(entries.elements.size() == k_tuples);
    std::map<std::string, int> words;
    for (const auto& e : entries.elements) {
      const auto& f = e.elements[1].elements;
      REQUIRE(f.size() == 4);
      CHECK(f[0].text == "word");
      CHECK(f[2].text == "count");
      ++words[f[1].text];
    }
    CHECK(words == std::map<std::string, int>{{"cow", 50}, {"jumped", 50}, {"moon", 50},
                                               {"over", 50}, {"the", 50}});
  }

  TEST_CASE("RedisBolt runs its command per tuple with arguments from fields (HINCRBY)") {
    constexpr int k_tuples = 300;
    RedisServer server;
    Config bolt = bolt_config(server);
    bolt.set("redis.mode", "command");
    bolt.set("redis.command", "HINCRBY counts {word} {count}");
    worker::Worker w(bolt_topology(word_counts(k_tuples), bolt), Config{});
    w.start();
    CHECK(wait_until([&] { return test::stats_of(w.stats(), "words").acked == k_tuples; }, 30s));
    w.stop();
    std::map<std::string, std::int64_t> expected;
    for (const Values& v : word_counts(k_tuples)) expected[v[0].as_string()] += v[1].as_int();
    for (const auto& [word, count] : expected) {
      CHECK(server.command({"HGET", "counts", word}).text == std::to_string(count));
    }
  }

  TEST_CASE("an error reply fails the input and is reported; the other inputs are acked") {
    RedisServer server;
    Config bolt = bolt_config(server);
    bolt.set("redis.mode", "command");
    bolt.set("redis.command", "HINCRBY counts {word} {count}");
    std::vector<Values> tuples = word_counts(40);
    tuples.push_back({"bad", "not-a-number"});
    worker::Worker w(bolt_topology(tuples, bolt), Config{});
    w.start();
    CHECK(wait_until([&] { return test::stats_of(w.stats(), "words").acked == 40; }, 30s));
    CHECK(wait_until([&] { return test::stats_of(w.stats(), "redis").failed > 0; }, 30s));
    const std::string error = test::stats_of(w.stats(), "redis").last_error;
    CHECK(error.find("HINCRBY counts bad not-a-number") != std::string::npos);
    CHECK(error.find("not an integer") != std::string::npos);
    CHECK(test::stats_of(w.stats(), "words").failed > 0);
    w.stop(100ms);
    CHECK(server.command({"HEXISTS", "counts", "bad"}).integer == 0);
  }

  TEST_CASE("a tuple without the field to write is failed with the field named") {
    RedisServer server;
    Config bolt = bolt_config(server);
    bolt.set("redis.stream", "out");
    bolt.set("redis.fields", "word, colour");
    worker::Worker w(bolt_topology(word_counts(1), bolt), Config{});
    w.start();
    CHECK(wait_until([&] { return test::stats_of(w.stats(), "redis").failed > 0; }, 30s));
    CHECK(test::stats_of(w.stats(), "redis").last_error.find("has no field 'colour'") !=
          std::string::npos);
    w.stop(100ms);
  }

  TEST_CASE("an invalid RedisBolt config fails the build naming the key") {
    Config c;
    CHECK(build_error(c) ==
          "bolt 'redis': factory failed: RedisBolt: config key 'redis.stream' is required when "
          "redis.mode is xadd");
    c.set("redis.mode", "command");
    CHECK(build_error(c).find("'redis.command' is required") != std::string::npos);
    c.set("redis.command", "HINCRBY counts {word {count}");
    CHECK(build_error(c).find("'redis.command'") != std::string::npos);
    c.set("redis.command", "HINCRBY counts {word} {count}");
    c.set("redis.mode", "hincrby");
    CHECK(build_error(c).find("'redis.mode'") != std::string::npos);
    c.set("redis.mode", "command");
    c.set("redis.batch.size", 0);
    CHECK(build_error(c).find("'redis.batch.size'") != std::string::npos);
    c.set("redis.batch.size", 10);
    CHECK(build_error(c).empty());
  }
}
