#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <gale/errors.hpp>

#include "spouts/redis/redis_client.hpp"
#include "spouts/redis/stream_entry.hpp"

// The Redis Streams spout's reading of entry ids, replies and field mappings, without a server.

using namespace gale;
using namespace gale::spouts::redis;

namespace {

Reply text(std::string s) { return Reply{Reply::Kind::string, 0, std::move(s), {}}; }
Reply array(std::vector<Reply> e) { return Reply{Reply::Kind::array, 0, "", std::move(e)}; }

}  // namespace

TEST_SUITE("connector_redis") {
  TEST_CASE("entry ids parse, print and order as Redis orders them") {
    CHECK(EntryId::parse("1526919030474-55") == EntryId{1526919030474, 55});
    CHECK(EntryId::parse("7") == EntryId{7, 0});
    CHECK_FALSE(EntryId::parse("7-"));
    CHECK_FALSE(EntryId::parse("x-1"));
    CHECK_FALSE(EntryId::parse(""));
    CHECK(EntryId{5, 10}.text() == "5-10");
    CHECK(EntryId{5, 10} < EntryId{5, 11});
    CHECK(EntryId{5, 99} < EntryId{6, 0});  // not the order of the text
  }

  TEST_CASE("an XREADGROUP reply becomes entries; a deleted pending entry is marked") {
    const Reply reply = array({array({text("s"), array({
        array({text("1-0"), array({text("n"), text("1"), text("m"), text("x")})}),
        array({text("2-0"), Reply{}}),
    })})});
    const std::vector<StreamEntry> entries = entries_of_read(reply);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].id == EntryId{1, 0});
    CHECK(entries[0].fields == std::vector<std::pair<std::string, std::string>>{{"n", "1"},
                                                                                 {"m", "x"}});
    CHECK(entries[1].deleted);
    CHECK(entries_of_read(Reply{}).empty());  // nothing new
    CHECK_THROWS_AS((void)entries_of_read(text("OK")), Error);
    CHECK_THROWS_AS((void)entries_of_read(array({array({text("s"), array({array({text("1-0"),
                                                      array({text("odd")})})})})})),
                    Error);
  }

  TEST_CASE("field mappings keep or rename fields and refuse repeats") {
    const auto m = parse_field_mappings({"sentence", "n:number"}, "Spout", "redis.fields");
    REQUIRE(m.size() == 2);
    CHECK(m[0].entry_field == "sentence");
    CHECK(m[0].tuple_field == "sentence");
    CHECK(m[1].entry_field == "n");
    CHECK(m[1].tuple_field == "number");
    CHECK_THROWS_WITH_AS((void)parse_field_mappings({"a:"}, "Spout", "redis.fields"),
                         "Spout: config key 'redis.fields': 'a:' must be ENTRY_FIELD or "
                         "ENTRY_FIELD:TUPLE_FIELD",
                         ConfigError);
    CHECK_THROWS_AS((void)parse_field_mappings({"a", "b:a"}, "Spout", "redis.fields"),
                    ConfigError);
  }

  TEST_CASE("redis.url parses to host and port, naming the key when malformed") {
    CHECK(parse_address("redis://10.0.0.1:7000", "X", "redis.url").text() == "10.0.0.1:7000");
    CHECK(parse_address("localhost", "X", "redis.url").text() == "localhost:6379");
    CHECK_THROWS_WITH_AS((void)parse_address("redis://h:0", "X", "redis.url"),
                         "X: config key 'redis.url' must be redis://HOST:PORT with a port in "
                         "[1, 65535], got 'redis://h:0'",
                         ConfigError);
    CHECK_THROWS_AS((void)parse_address("redis://:6379", "X", "redis.url"), ConfigError);
  }
}
