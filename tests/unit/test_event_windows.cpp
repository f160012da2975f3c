#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gale/errors.hpp>
#include <gale/window.hpp>

#include "topology/src/window/merging_sessions.hpp"
#include "topology/src/window/time_windows.hpp"
#include "topology/src/window/watermark_tracker.hpp"
#include "topology/src/window/window_spec.hpp"

// The event-time window engines alone, with timestamps and watermarks given by the test (entries
// are ints, times milliseconds): window assignment by timestamp, firing on the watermark, late
// entries and allowed lateness, merging sessions, incremental aggregation against the full
// window, the bound on what an aggregating window keeps, and the watermark over input tasks.

using gale::Value;
using gale::Values;
using gale::detail::AggregateOps;
using gale::detail::MergingSessions;
using gale::detail::TimeWindows;
using gale::detail::WatermarkTracker;
using gale::detail::WindowSpec;
using Ints = std::vector<int>;

namespace {

struct KeyHash {
  std::size_t operator()(const Values& key) const noexcept {
    std::uint64_t h = 0;
    for (const Value& v : key) h = h * 31 + v.hash();
    return static_cast<std::size_t>(h);
  }
};

using Windows = TimeWindows<int, Values, KeyHash>;
using Sessions = MergingSessions<int, Values, KeyHash>;
using Out = Windows::Out;

// Sums the entries.
class SumOps final : public AggregateOps<int> {
 public:
  Value create() override { return std::int64_t{0}; }
  void add(Value& acc, const int& e) override { acc = acc.as_int() + e; }
  void merge(Value& into, const Value& other) override { into = into.as_int() + other.as_int(); }
};

const Values k_none_key{};

}  // namespace

TEST_SUITE("windows") {
  TEST_CASE("event time: out-of-order entries land in the window of their timestamp") {
    Windows w(10'000, 10'000, 0, nullptr);
    std::vector<Out> out;
    std::vector<int> leave;
    // Out of order within a window and across the boundary at 10 s.
    CHECK(w.add(1, k_none_key, 9'000, true, out));
    CHECK(w.add(2, k_none_key, 12'000, true, out));
    CHECK(w.add(3, k_none_key, 1'000, true, out));
    CHECK(w.add(4, k_none_key, 9'999, true, out));
    CHECK(w.add(5, k_none_key, 10'000, true, out));
    w.advance(9'999, out, leave);
    CHECK(out.empty());  // the watermark has not reached the end of [0, 10000)
    w.advance(10'000, out, leave);
    REQUIRE(out.size() == 1);
    CHECK(out[0].start == 0);
    CHECK(out[0].end == 10'000);
    CHECK(out[0].tuples == Ints{3, 1, 4});  // by timestamp
    CHECK(out[0].fresh == Ints{3, 1, 4});
    CHECK(out[0].expired.empty());
    out.clear();
    w.advance(20'000, out, leave);
    REQUIRE(out.size() == 1);
    CHECK(out[0].start == 10'000);
    CHECK(out[0].tuples == Ints{5, 2});
    CHECK(out[0].expired == Ints{3, 1, 4});  // left with the window before
    CHECK(leave.empty());
  }

  TEST_CASE("event time: a sliding window shows each entry in every window that covers it") {
    Windows w(3'000, 1'000, 0, nullptr);
    std::vector<Out> out;
    std::vector<int> leave;
    CHECK(w.add(1, k_none_key, 500, true, out));
    CHECK(w.add(2, k_none_key, 2'500, true, out));
    w.advance(5'000, out, leave);
    // Windows ending 1000..5000 (the first holds entry 1; [2000, 5000) holds 2 only).
    REQUIRE(out.size() == 5);
    CHECK(out[0].end == 1'000);
    CHECK(out[0].tuples == Ints{1});
    CHECK(out[1].tuples == Ints{1});
    CHECK(out[2].tuples == Ints{1, 2});
    CHECK(out[2].fresh == Ints{2});
    CHECK(out[3].tuples == Ints{2});
    CHECK(out[3].expired == Ints{1});
    CHECK(out[4].tuples == Ints{2});
    CHECK(w.held() == 1);
    out.clear();
    w.advance(6'000, out, leave);
    REQUIRE(out.size() == 1);  // nothing left but 2 to expire
    CHECK(out[0].tuples.empty());
    CHECK(out[0].expired == Ints{2});
    CHECK(w.held() == 0);
  }

  TEST_CASE("event time: a window longer than a whole number of slides ends on the slide") {
    // 10 ms every 4 ms: windows [end - 10, end) for every end a multiple of 4, panes of 2 ms.
    Windows w(10, 4, 0, nullptr);
    std::vector<Out> out;
    std::vector<int> leave;
    CHECK(w.add(1, k_none_key, 0, true, out));
    w.advance(100, out, leave);
    REQUIRE(out.size() >= 3);
    CHECK(out[0].start == -6);  // the windows covering 0: [-6, 4), [-2, 8); then it expires
    CHECK(out[0].end == 4);
    CHECK(out[0].tuples == Ints{1});
    CHECK(out[1].start == -2);
    CHECK(out[1].end == 8);
    CHECK(out[1].tuples == Ints{1});
    CHECK(out[2].end == 12);
    CHECK(out[2].tuples.empty());
    CHECK(out[2].expired == Ints{1});
    out.clear();
    // [86, 96) and [90, 100) have ended (the watermark is at 100): 2 is only in [94, 104).
    CHECK(w.add(2, k_none_key, 95, true, out));
    CHECK(out.empty());
    CHECK_FALSE(w.add(3, k_none_key, 89, true, out));  // [82, 92) and [86, 96) both ended
    w.advance(200, out, leave);
    REQUIRE(out.size() == 2);
    CHECK(out[0].start == 94);
    CHECK(out[0].end == 104);
    CHECK(out[0].tuples == Ints{2});
    CHECK(out[1].end == 108);
    CHECK(out[1].tuples.empty());
    CHECK(out[1].expired == Ints{2});
  }

  TEST_CASE("event time: a late entry is refused once its windows are dropped") {
    Windows w(10'000, 10'000, 0, nullptr);
    std::vector<Out> out;
    std::vector<int> leave;
    CHECK(w.add(1, k_none_key, 5'000, true, out));
    w.advance(10'000, out, leave);
    REQUIRE(out.size() == 1);
    out.clear();
    // Behind the watermark but in a window that has not fired: on time.
    CHECK(w.add(2, k_none_key, 10'000, true, out));
    // In [0, 10000), fired and dropped: late.
    CHECK_FALSE(w.add(3, k_none_key, 9'999, true, out));
    CHECK(out.empty());
    CHECK(w.held() == 2);  // 1 waits to show as expired, 2 in its window
  }

  TEST_CASE("event time: within the allowed lateness a late entry fires its window again") {
    Windows w(10'000, 10'000, 2'000, nullptr);
    std::vector<Out> out;
    std::vector<int> leave;
    CHECK(w.add(1, k_none_key, 5'000, true, out));
    w.advance(10'500, out, leave);
    REQUIRE(out.size() == 1);
    CHECK_FALSE(out[0].late);
    out.clear();
    CHECK(w.add(2, k_none_key, 7'000, true, out));  // late by 3.5 s, within 10000 + 2000
    REQUIRE(out.size() == 1);
    CHECK(out[0].late);
    CHECK(out[0].tuples == Ints{1, 2});
    CHECK(out[0].fresh == Ints{2});
    out.clear();
    w.advance(12'000, out, leave);  // the lateness ran out: [0, 10000) is dropped
    CHECK(out.empty());
    CHECK_FALSE(w.add(3, k_none_key, 9'000, true, out));
    CHECK(w.add(4, k_none_key, 15'000, true, out));
    w.advance(20'000, out, leave);
    REQUIRE(out.size() == 1);
    CHECK(out[0].tuples == Ints{4});
    CHECK(out[0].expired == Ints{1, 2});
  }

  TEST_CASE("incremental aggregation gives the full window's result, per key") {
    // Random keyed entries with random timestamps, out of order within the lag; the aggregate's
    // results per window and key must equal sums over the tuple windows' contents.
    SumOps ops;
    const std::int64_t lag = 700;
    Windows agg(3'000, 1'000, 0, &ops);
    Windows full(3'000, 1'000, 0, nullptr);
    std::vector<Out> agg_out, full_out;
    std::vector<int> leave;
    std::mt19937 rng(42);
    std::map<int, int> key_of;  // entry -> key
    std::int64_t highest = 0;
    for (int i = 1; i <= 5'000; ++i) {
      const std::int64_t ts =
          std::max<std::int64_t>(0, highest - lag + static_cast<int>(rng() % 900));
      highest = std::max(highest, ts);
      const int key = static_cast<int>(rng() % 7);
      key_of[i] = key;
      const bool a = agg.add(i, Values{std::int64_t{key}}, ts, false, agg_out);
      const bool f = full.add(i, k_none_key, ts, true, full_out);
      REQUIRE(a == f);
      if (i % 50 == 0) {
        agg.advance(highest - lag, agg_out, leave);
        full.advance(highest - lag, full_out, leave);
      }
    }
    agg.advance(highest + 10'000, agg_out, leave);
    full.advance(highest + 10'000, full_out, leave);
    std::map<std::pair<std::int64_t, int>, std::int64_t> expected, got;
    for (const Out& f : full_out) {
      for (int e : f.tuples) expected[{f.end, key_of[e]}] += e;
    }
    for (const Out& f : agg_out) {
      CHECK(f.aggregated);
      got[{f.end, static_cast<int>(f.key[0].as_int())}] = f.accumulator.as_int();
    }
    CHECK(got.size() > 100);
    CHECK(got == expected);
    CHECK(agg.panes() == 0);
    CHECK(agg.accumulators() == 0);
  }

  TEST_CASE("an aggregating window keeps one accumulator per key and pane over a long run") {
    SumOps ops;
    Windows w(10'000, 1'000, 0, &ops);  // panes of 1 s, 10 per window
    std::vector<Out> out;
    std::vector<int> leave;
    std::size_t most_panes = 0, most_accumulators = 0;
    // An hour of event time, 100 entries per second over 50 keys: 360,000 entries.
    for (std::int64_t ms = 0; ms < 3'600'000; ms += 10) {
      w.add(1, Values{std::int64_t{(ms / 10) % 50}}, ms, false, out);
      if (ms % 1'000 == 0) {
        w.advance(ms, out, leave);
        out.clear();
        most_panes = std::max(most_panes, w.panes());
        most_accumulators = std::max(most_accumulators, w.accumulators());
      }
    }
    CHECK(most_panes <= 11);
    CHECK(most_accumulators <= 11 * 50);
    CHECK(w.held() == 0);  // nothing kept: the entries need no ack
    CHECK(leave.empty());
  }

  TEST_CASE("aggregated entries kept for acking leave when their last window is dropped") {
    SumOps ops;
    Windows w(2'000, 1'000, 0, &ops);
    std::vector<Out> out;
    std::vector<int> leave;
    w.add(7, Values{std::int64_t{1}}, 500, true, out);
    w.add(8, Values{std::int64_t{2}}, 1'500, true, out);
    w.advance(1'000, out, leave);
    REQUIRE(out.size() == 1);
    CHECK(out[0].key == Values{std::int64_t{1}});
    CHECK(out[0].tuples == Ints{7});  // what its emits are anchored to
    CHECK(leave.empty());
    out.clear();
    w.advance(2'000, out, leave);
    REQUIRE(out.size() == 2);  // [0, 2000) per key
    CHECK(out[0].key != out[1].key);
    for (const Out& f : out)
      CHECK(f.tuples == (f.key == Values{std::int64_t{1}} ? Ints{7} : Ints{8}));
    CHECK(leave == Ints{7});  // its last window [0, 2000) is dropped
    w.advance(3'000, out, leave);
    CHECK(leave == Ints{7, 8});
    CHECK(w.held() == 0);
  }

  TEST_CASE("event-time sessions merge when an out-of-order entry bridges them") {
    Sessions s(1'000, 0, nullptr);
    std::vector<Sessions::Out> out;
    std::vector<int> leave;
    const Values a{"a"}, b{"b"};
    CHECK(s.add(1, a, 0, true, out));
    CHECK(s.add(2, a, 1'800, true, out));  // 1800 >= 0 + 1000: a second session
    CHECK(s.add(3, b, 100, true, out));
    CHECK(s.sessions() == 3);
    CHECK(s.add(4, a, 900, true, out));  // bridges [0, 1000) and [1800, 2800)
    CHECK(s.sessions() == 2);
    s.advance(2'000, out, leave);
    REQUIRE(out.size() == 1);  // b's [100, 1100)
    CHECK(out[0].tuples == Ints{3});
    CHECK(out[0].expired == Ints{3});
    out.clear();
    s.advance(2'800, out, leave);
    REQUIRE(out.size() == 1);
    CHECK(out[0].start == 0);
    CHECK(out[0].end == 2'800);
    CHECK(out[0].tuples == Ints{1, 4, 2});
    CHECK(out[0].expired == Ints{1, 4, 2});
    CHECK(s.sessions() == 0);
    CHECK(s.held() == 0);
    CHECK_FALSE(s.add(5, a, 1'500, true, out));  // its session would end at 2500: late
  }

  TEST_CASE("a session that grows past the watermark within the lateness fires again") {
    SumOps ops;
    Sessions s(10, 5, &ops);
    std::vector<Sessions::Out> out;
    std::vector<int> leave;
    const Values k{std::int64_t{7}};
    s.add(1, k, 0, true, out);
    s.advance(10, out, leave);
    REQUIRE(out.size() == 1);  // [0, 10)
    out.clear();
    CHECK(s.add(2, k, 8, true, out));  // within the lateness; the session is now [0, 18)
    CHECK(out.empty());                // its end is ahead of the watermark: it fires then
    s.advance(20, out, leave);
    REQUIRE(out.size() == 1);
    CHECK(out[0].start == 0);
    CHECK(out[0].end == 18);
    CHECK(out[0].accumulator.as_int() == 3);
    CHECK(leave.empty());
    s.advance(30, out, leave);  // 18 + 5
    CHECK(leave == Ints{1, 2});
  }

  TEST_CASE("event-time sessions split on the gap, and aggregate by merging accumulators") {
    SumOps ops;
    Sessions s(1'000, 500, &ops);
    std::vector<Sessions::Out> out;
    std::vector<int> leave;
    const Values k{"k"};
    s.add(1, k, 0, true, out);
    s.add(10, k, 1'500, true, out);  // 1500 >= 0 + 1000: its own session
    CHECK(s.sessions() == 2);
    s.add(100, k, 950, true, out);  // [950, 1950) bridges both: one session [0, 2500)
    CHECK(s.sessions() == 1);
    s.advance(2'499, out, leave);
    CHECK(out.empty());
    s.advance(2'500, out, leave);
    REQUIRE(out.size() == 1);
    CHECK(out[0].end == 2'500);
    CHECK(out[0].accumulator.as_int() == 111);
    CHECK(leave.empty());  // kept for the lateness
    out.clear();
    s.add(1000, k, 1'000, true, out);  // joins it within the lateness: fires again
    REQUIRE(out.size() == 1);
    CHECK(out[0].late);
    CHECK(out[0].accumulator.as_int() == 1111);
    CHECK(out[0].tuples == Ints{1, 10, 100, 1000});
    s.advance(3'000, out, leave);  // 2500 + 500: dropped
    CHECK(leave == Ints{1, 10, 100, 1000});
  }

  TEST_CASE("the watermark is the lowest over the input tasks, and an idle input is released") {
    WatermarkTracker t({1, 2}, /*lag=*/100, /*idle=*/5'000, /*now=*/0);
    CHECK(t.update(0) == WatermarkTracker::k_none);
    t.observe(1, 10'000, 10);
    CHECK(t.update(20) == WatermarkTracker::k_none);  // task 2 has sent nothing yet
    t.observe(2, 4'000, 30);
    CHECK(t.update(40) == 3'900);  // the slower input holds it
    t.observe(2, 3'000, 50);       // out of order: its highest stays 4000
    CHECK(t.update(60) == 3'900);
    t.observe(1, 12'000, 4'000);
    CHECK(t.update(5'049) == 3'900);
    CHECK(t.update(5'050) == 11'900);  // task 2 idle for 5 s: released
    t.observe(2, 5'000, 5'100);        // back, behind: the watermark does not go back
    CHECK(t.update(5'200) == 11'900);
    t.observe(3, 20'000, 5'300);  // a task not given at the start joins when it sends
    CHECK(t.inputs() == 3);
    CHECK(t.update(20'000) == 19'900);  // everything idle: the highest of them
  }

  TEST_CASE("without an idle timeout, an input that never sends holds the watermark") {
    WatermarkTracker t({1, 2}, 0, 0, 0);
    t.observe(1, 1'000, 0);
    CHECK(t.update(1'000'000) == WatermarkTracker::k_none);
  }

  TEST_CASE("event-time and aggregation settings are checked, naming the key") {
    auto from = [](std::initializer_list<std::pair<const char*, Value>> entries) {
      gale::Config c;
      for (const auto& [k, v] : entries) c.set(k, v);
      return WindowSpec::from(c);
    };
    namespace keys = gale::keys;
    CHECK_THROWS_WITH_AS(from({{keys::window_length_count, 10},
                               {keys::window_sliding_interval_count, 10},
                               {keys::window_timestamp_field, "ts"}}),
                         doctest::Contains("event time needs a window by duration or sessions"),
                         gale::ConfigError);
    CHECK_THROWS_WITH_AS(from({{keys::window_length_duration_ms, 1000},
                               {keys::window_sliding_interval_duration_ms, 1000},
                               {keys::window_late_tuple_stream, "late"}}),
                         doctest::Contains("'topology.bolts.late.tuple.stream' is for event time"),
                         gale::ConfigError);
    CHECK_THROWS_WITH_AS(from({{keys::window_length_duration_ms, 1000},
                               {keys::window_sliding_interval_duration_ms, 1000},
                               {keys::window_timestamp_field, "ts"},
                               {keys::window_timestamp_max_lag_ms, -1}}),
                         doctest::Contains("topology.bolts.tuple.timestamp.max.lag.ms"),
                         gale::ConfigError);
    CHECK_THROWS_WITH_AS(from({{keys::window_length_count, 10},
                               {keys::window_sliding_interval_count, 10},
                               {keys::window_aggregate, true}}),
                         doctest::Contains("aggregation needs a window by duration"),
                         gale::ConfigError);
    CHECK_THROWS_WITH_AS(from({{keys::window_timestamp_field, "ts"}}),
                         doctest::Contains("no window is set"), gale::ConfigError);
    const auto ok = from({{keys::window_length_duration_ms, 10'000},
                          {keys::window_sliding_interval_duration_ms, 2'000},
                          {keys::window_timestamp_field, "ts"},
                          {keys::window_timestamp_max_lag_ms, 500},
                          {keys::window_aggregate, true},
                          {keys::window_aggregate_key_fields, Value(gale::List{Value("word")})}});
    REQUIRE(ok);
    CHECK(ok->describe() ==
          "a sliding window of 10000 ms every 2000 ms in event time (field 'ts', lag 500 ms), "
          "aggregated by (word)");
    // With acking on, a tuple waits for the window, the lag, the lateness and a watermark tick.
    CHECK_THROWS_WITH_AS(gale::detail::check_window_limits(*ok, "counts", 0, "", 12'000),
                         doctest::Contains("13500 ms (length + sliding interval + lag"),
                         gale::ConfigError);
    CHECK_NOTHROW(gale::detail::check_window_limits(*ok, "counts", 0, "", 14'000));
  }
}
