#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gale/config_schema.hpp>
#include <gale/errors.hpp>
#include <gale/spouts/offset_tracker.hpp>
#include <gale/spouts/retry_schedule.hpp>

// What every connector builds on: the configuration schema that fails a build on a bad key, the
// commit bookkeeping of source positions, and the retry schedule of failed records.

namespace {

using namespace gale;
using namespace std::chrono_literals;
using spouts::OffsetTracker;
using spouts::RetryPolicy;
using spouts::RetrySchedule;

ConfigSchema example_schema() {
  ConfigSchema schema("ExampleSpout");
  schema.required_string("example.url", "where the server is")
      .required_string_list("example.topics", "topics to read")
      .integer("example.batch", 100, 1, 1000, "records per batch")
      .floating("example.ratio", 0.5, 0.0, 1.0, "a share")
      .boolean("example.sync", false, "fsync each batch")
      .choice("example.start", "committed", {"earliest", "latest", "committed"}, "where to start")
      .string("example.group", "gale", "consumer group")
      .passthrough("example.client.", "client library settings, passed on");
  return schema;
}

Config minimal() {
  Config c;
  c.set("example.url", "tcp://127.0.0.1:1");
  c.set("example.topics", "a, b,,c ");
  return c;
}

std::string error_of(const Config& c) {
  try {
    (void)example_schema().resolve(c);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("ConfigSchema fills in defaults, splits lists, keeps passthrough keys") {
    Config c = minimal();
    c.set("example.client.socket.timeout.ms", "500");
    c.set("topology.workers", 3);  // Gale's own keys are not the component's business
    c.set("example.ratio", 1);     // an integer is a number too
    const Config r = example_schema().resolve(c);
    CHECK(string_list(r, "example.topics") == std::vector<std::string>{"a", "b", "c"});
    CHECK(r.get_int("example.batch", 0) == 100);
    CHECK(r.get_double("example.ratio", 0) == 1.0);
    CHECK(r.get_bool("example.sync", true) == false);
    CHECK(r.get_string("example.start", "") == "committed");
    CHECK(r.get_string("example.group", "") == "gale");
    CHECK(r.get_string("example.client.socket.timeout.ms", "") == "500");
    CHECK_FALSE(r.contains("topology.workers"));
  }

  TEST_CASE("ConfigSchema names the key and what is wrong with it") {
    Config c = minimal();
    c.erase("example.url");
    CHECK(error_of(c) ==
          "ExampleSpout: config key 'example.url' is required (where the server is)");

    c = minimal();
    c.set("example.batch", 0);
    CHECK(error_of(c) ==
          "ExampleSpout: config key 'example.batch' must be an integer in [1, 1000], got 0");

    c = minimal();
    c.set("example.batch", "ten");
    CHECK(error_of(c) ==
          "ExampleSpout: config key 'example.batch' must be an integer in [1, 1000], got 'ten'");

    c = minimal();
    c.set("example.start", "newest");
    CHECK(error_of(c) == "ExampleSpout: config key 'example.start' must be one of earliest, "
                         "latest, committed, got 'newest'");

    c = minimal();
    c.set("example.sync", 1);
    CHECK(error_of(c) == "ExampleSpout: config key 'example.sync' must be true or false, got 1");

    c = minimal();
    c.set("example.topics", " , ");
    CHECK(error_of(c) ==
          "ExampleSpout: config key 'example.topics' must be a non-empty list, got ' , '");

    c = minimal();
    c.set("example.gruop", "g");
    CHECK(error_of(c) ==
          "ExampleSpout: unknown config key 'example.gruop' (did you mean 'example.group'?)");

    c = minimal();
    c.set("unrelated", 1);
    CHECK(error_of(c) == "ExampleSpout: unknown config key 'unrelated'");
  }

  TEST_CASE("ConfigSchema documents itself as a Markdown table") {
    const std::string table = example_schema().markdown_table();
    CHECK(table.find("| `example.url` | required | where the server is |") != std::string::npos);
    CHECK(table.find("| `example.batch` | `100` | records per batch |") != std::string::npos);
    CHECK(table.find("| `example.start` | `committed` | where to start (earliest, latest, "
                     "committed) |") != std::string::npos);
    CHECK(table.find("| `example.client.*` | |") != std::string::npos);
  }
}

TEST_SUITE("components") {
  TEST_CASE("OffsetTracker commits only past records that are all done") {
    OffsetTracker t(10);
    for (std::int64_t o = 10; o < 15; ++o) CHECK(t.emitted(o, o + 1));
    CHECK(t.committable() == 10);
    CHECK(t.done(11));
    CHECK(t.done(12));
    CHECK(t.committable() == 10);  // 10 is still pending
    CHECK_FALSE(t.has_commit());
    CHECK(t.done(10));
    CHECK(t.committable() == 13);
    CHECK(t.commit() == 13);
    CHECK(t.committed() == 13);
    CHECK(t.uncommitted() == 2);  // 13 and 14, pending
    CHECK(t.done(14));
    CHECK(t.committable() == 13);
    CHECK(t.done(13));
    CHECK(t.committable() == 15);
    CHECK(t.commit() == 15);
    CHECK(t.uncommitted() == 0);
    CHECK(t.pending() == 0);
  }

  TEST_CASE("OffsetTracker skips gaps in positions and refuses duplicates") {
    OffsetTracker t(0);
    CHECK(t.emitted(0, 40));     // a 40-byte line
    CHECK(t.emitted(40, 41));    // an empty line
    CHECK(t.emitted(100, 101));  // positions 41..99 never came (compaction, markers)
    CHECK_FALSE(t.emitted(40, 41));
    CHECK(t.done(100));
    CHECK(t.committable() == 0);
    CHECK(t.done(0));
    CHECK(t.committable() == 40);
    CHECK(t.done(40));
    CHECK(t.committable() == 101);
    t.commit();
    CHECK_FALSE(t.emitted(50, 51));  // before the committed position: already done
    CHECK_FALSE(t.done(7));          // never pending
    t.reset(500);
    CHECK(t.committed() == 500);
    CHECK(t.committable() == 500);
    CHECK(t.emitted(500, 501));
  }

  TEST_CASE("RetrySchedule backs off exponentially and gives up after max_retries") {
    RetrySchedule<std::int64_t> r(RetryPolicy{.max_retries = 3, .initial_delay = 100ms,
                                              .max_delay = 300ms});
    const auto t0 = RetrySchedule<std::int64_t>::Clock::time_point{};
    CHECK(r.delay(1) == 100ms);
    CHECK(r.delay(2) == 200ms);
    CHECK(r.delay(3) == 300ms);
    CHECK(r.failed(7, t0));
    CHECK(r.failed(8, t0 + 50ms));
    CHECK(r.due(t0 + 99ms).empty());
    CHECK(r.due(t0 + 150ms) == std::vector<std::int64_t>{7, 8});
    CHECK(r.failed(7, t0 + 200ms));  // second failure: 200 ms
    CHECK(r.due(t0 + 399ms).empty());
    CHECK(r.due(t0 + 400ms) == std::vector<std::int64_t>{7});
    CHECK(r.failed(7, t0 + 400ms));   // third
    CHECK_FALSE(r.failed(7, t0 + 1s));  // fourth failure: retries used up
    CHECK(r.failures(7) == 0);
    r.succeeded(8);
    CHECK(r.failures(8) == 0);
    CHECK(r.failed(9, t0));
    r.forget(9);
    CHECK(r.scheduled() == 1);  // 7's third retry only
    RetrySchedule<int> never(RetryPolicy{.max_retries = 0});
    CHECK_FALSE(never.failed(1, t0));
    RetrySchedule<int> forever(RetryPolicy{.max_retries = -1});
    for (int i = 0; i < 100; ++i) CHECK(forever.failed(1, t0));
  }
}
