#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gale/gale.hpp>
#include <gale/testing.hpp>

#include "plugin/loader.hpp"

// Windowed bolts run by the test kit on its simulated clock: exact window contents, expiries and
// acks, anchoring of what a window emits, the context's clock, and the checks of the window
// settings.

using namespace gale;
using namespace std::chrono_literals;
using gale::testing::RunOptions;
using gale::testing::TrackedTopology;

namespace {

// What the spout is to emit, when (milliseconds after it opened, on the kit's clock), and what it
// heard back.
struct Feed {
  std::mutex mutex;
  std::deque<std::pair<std::int64_t, std::int64_t>> todo;  // (at, n), in time order
  std::set<std::int64_t> acked;
  std::set<std::int64_t> failed;
  Feed(std::initializer_list<std::pair<std::int64_t, std::int64_t>> schedule) : todo(schedule) {}
  std::set<std::int64_t> acked_now() {
    std::lock_guard lock(mutex);
    return acked;
  }
  std::set<std::int64_t> failed_now() {
    std::lock_guard lock(mutex);
    return failed;
  }
};

std::shared_ptr<Feed> feed_of(std::initializer_list<std::pair<std::int64_t, std::int64_t>> s) {
  return std::make_shared<Feed>(s);
}

// Emits each n of its feed once the clock reaches its time, with message id n; never replays. The
// kit wakes spouts whenever it moves time, so a value due at a time arrives at that time.
class FeedSpout : public Spout {
 public:
  explicit FeedSpout(std::shared_ptr<Feed> feed) : feed_(std::move(feed)) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
  void open(const Context& context, SpoutCollector& out) override {
    context_ = &context;
    out_ = &out;
    opened_ = context.now_ms();
  }
  void next_tuple() override {
    std::lock_guard lock(feed_->mutex);
    while (!feed_->todo.empty() && feed_->todo.front().first <= context_->now_ms() - opened_) {
      const std::int64_t n = feed_->todo.front().second;
      feed_->todo.pop_front();
      out_->emit({n}, Value(n));
    }
  }
  void ack(const MessageId& id) override {
    std::lock_guard lock(feed_->mutex);
    feed_->acked.insert(id.as_int());
  }
  void fail(const MessageId& id) override {
    std::lock_guard lock(feed_->mutex);
    feed_->failed.insert(id.as_int());
  }

 private:
  std::shared_ptr<Feed> feed_;
  const Context* context_ = nullptr;
  SpoutCollector* out_ = nullptr;
  std::int64_t opened_ = 0;
};

using Ns = std::vector<std::int64_t>;

struct SeenWindow {
  Ns tuples, fresh, expired;
  std::int64_t start = 0, end = 0;
};

struct WindowLog {
  std::mutex mutex;
  std::vector<SeenWindow> windows;
  std::vector<std::int64_t> clock_at_execute;
  std::vector<SeenWindow> all() {
    std::lock_guard lock(mutex);
    return windows;
  }
};

Ns ns_of(const std::vector<Tuple>& tuples) {
  Ns out;
  for (const Tuple& t : tuples) out.push_back(t.get_int(0));
  return out;
}

enum class Shape { count_tumbling_3, time_sliding_3s_1s, count_tumbling_2, count_sliding_2000 };

// Records every window and emits the sum of its tuples (anchored to them by the window).
class RecordingWindowBolt : public WindowedBolt {
 public:
  RecordingWindowBolt(std::shared_ptr<WindowLog> log, Shape shape, bool throws = false)
      : log_(std::move(log)), throws_(throws) {
    switch (shape) {
      case Shape::count_tumbling_3: with_tumbling_window(Count(3)); break;
      case Shape::time_sliding_3s_1s: with_window(Duration(3'000), Duration(1'000)); break;
      case Shape::count_tumbling_2: with_tumbling_window(Count(2)); break;
      case Shape::count_sliding_2000: with_window(Count(2'000), Count(1)); break;
    }
  }
  void declare_outputs(OutputDeclarer& d) override { d.declare({"sum"}); }
  void prepare(const Context& context, BoltCollector&) override { context_ = &context; }
  void execute(const TupleWindow& window, BoltCollector& out) override {
    std::int64_t sum = 0;
    for (const Tuple& t : window.get()) sum += t.get_int(0);
    {
      std::lock_guard lock(log_->mutex);
      log_->windows.push_back({ns_of(window.get()), ns_of(window.get_new()),
                               ns_of(window.get_expired()), window.start(), window.end()});
      log_->clock_at_execute.push_back(context_->now_ms());
    }
    if (throws_) throw std::runtime_error("this window is not wanted");
    out.emit({sum});
  }

 private:
  std::shared_ptr<WindowLog> log_;
  bool throws_;
  const Context* context_ = nullptr;
};

class AckBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override { out.ack(input); }
};

class FailBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override { out.fail(input); }
};

Topology windowed(std::shared_ptr<Feed> feed, std::shared_ptr<WindowLog> log, Shape shape,
                  bool sink_fails = false, bool throws = false) {
  TopologyBuilder b;
  b.set_spout("feed", make<FeedSpout>(feed));
  b.set_bolt("w", make<RecordingWindowBolt>(log, shape, throws)).shuffle_grouping("feed");
  if (sink_fails) {
    b.set_bolt("sink", make<FailBolt>()).shuffle_grouping("w");
  } else {
    b.set_bolt("sink", make<AckBolt>()).shuffle_grouping("w");
  }
  return b.build();
}

}  // namespace

TEST_SUITE("windows") {
  TEST_CASE("tumbling count windows: exact contents, and tuples acked as they leave") {
    auto feed = feed_of({{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}, {0, 6}, {0, 7}, {0, 8},
                         {0, 9}});
    auto log = std::make_shared<WindowLog>();
    TrackedTopology run(windowed(feed, log, Shape::count_tumbling_3));
    run.wait_idle();
    const auto windows = log->all();
    REQUIRE(windows.size() == 3);
    CHECK(windows[0].tuples == Ns{0, 1, 2});
    CHECK(windows[1].tuples == Ns{3, 4, 5});
    CHECK(windows[1].fresh == Ns{3, 4, 5});
    CHECK(windows[1].expired == Ns{0, 1, 2});
    CHECK(windows[2].tuples == Ns{6, 7, 8});
    CHECK(windows[2].expired == Ns{3, 4, 5});
    // 0..5 left every window; 6..8 wait for the next window, 9 for its window.
    CHECK(feed->acked_now() == std::set<std::int64_t>{0, 1, 2, 3, 4, 5});
    CHECK(run.pending_trees() == 4);
    CHECK(run.result().counts("sink").acked == 3);
    run.stop();
  }

  TEST_CASE("sliding time windows on the simulated clock: contents, expiries, acks") {
    // 1 and 2 arrive at once, 3 a second later (when the first window closes: in the next one).
    auto feed = feed_of({{0, 1}, {0, 2}, {1'000, 3}});
    auto log = std::make_shared<WindowLog>();
    TrackedTopology run(windowed(feed, log, Shape::time_sliding_3s_1s));
    run.wait_idle();
    run.advance_time(1s);
    run.advance_time(1s);
    run.advance_time(1s);
    CHECK(feed->acked_now().empty());  // 1 and 2 are in the window ending now
    run.advance_time(1s);
    CHECK(feed->acked_now() == std::set<std::int64_t>{1, 2});
    run.advance_time(1s);
    CHECK(feed->acked_now() == std::set<std::int64_t>{1, 2, 3});
    run.advance_time(1s);
    CHECK(run.pending_trees() == 0);
    run.stop();

    const auto w = log->all();
    // Windows end at whole seconds of the clock and hold the last 3 s: 1 and 2 arrived at the
    // kit's start, t0 (a whole second), 3 at t0 + 1 s.
    REQUIRE(w.size() == 5);  // the window ending at t0 + 6 s is empty and has nothing to expire
    CHECK(w[0].end - w[0].start == 3'000);
    CHECK(w[0].end % 1'000 == 0);
    for (std::size_t i = 1; i < w.size(); ++i) CHECK(w[i].end == w[i - 1].end + 1'000);
    CHECK(w[0].tuples == Ns{1, 2});  // ends at t0 + 1 s
    CHECK(w[0].fresh == Ns{1, 2});
    CHECK(w[1].tuples == Ns{1, 2, 3});
    CHECK(w[1].fresh == Ns{3});
    CHECK(w[2].tuples == Ns{1, 2, 3});
    CHECK(w[2].fresh.empty());
    CHECK(w[3].tuples == Ns{3});  // [t0 + 1 s, t0 + 4 s)
    CHECK(w[3].expired == Ns{1, 2});
    CHECK(w[4].tuples.empty());
    CHECK(w[4].expired == Ns{3});
  }

  TEST_CASE("the context's clock is the kit's simulated clock") {
    auto feed = feed_of({{0, 1}});
    auto log = std::make_shared<WindowLog>();
    TrackedTopology run(windowed(feed, log, Shape::time_sliding_3s_1s));
    run.wait_idle();
    run.advance_time(1s);
    run.advance_time(5s);
    run.stop();
    std::lock_guard lock(log->mutex);
    REQUIRE(log->clock_at_execute.size() >= 2);
    // The first window closed on the tick at its end; the next ones on the tick 5 s later.
    CHECK(log->clock_at_execute.front() == log->windows.front().end);
    CHECK(log->clock_at_execute.back() - log->clock_at_execute.front() == 5'000);
  }

  TEST_CASE("what a window emits is anchored to the window's tuples") {
    auto feed = feed_of({{0, 10}, {0, 11}, {0, 12}});
    auto log = std::make_shared<WindowLog>();
    TrackedTopology run(windowed(feed, log, Shape::count_tumbling_2, /*sink_fails=*/true));
    run.wait_idle();
    // The sink failed the sum of [10, 11]: both trees fail at once, long before they would leave
    // the window; 12 is pending in the next one.
    CHECK(feed->failed_now() == std::set<std::int64_t>{10, 11});
    CHECK(feed->acked_now().empty());
    run.stop();
  }

  TEST_CASE("an execute() that throws is reported, and its tuples are still acked") {
    auto feed = feed_of({{0, 1}, {0, 2}, {0, 3}, {0, 4}});
    auto log = std::make_shared<WindowLog>();
    TrackedTopology run(windowed(feed, log, Shape::count_tumbling_2, false, /*throws=*/true));
    run.wait_idle();
    CHECK(log->all().size() == 2);
    CHECK(run.result().counts("w").errors == 2);
    CHECK(feed->acked_now() == std::set<std::int64_t>{1, 2});  // left with the second window
    CHECK(feed->failed_now().empty());
    run.stop();
  }

  TEST_CASE("session windows per key on the simulated clock") {
    // Keyed by n % 2: 1, 3 and 5 are one key, 2 and 4 the other.
    class Sessions : public WindowedBolt {
     public:
      explicit Sessions(std::shared_ptr<WindowLog> log) : log_(std::move(log)) {
        with_session_window(Fields{"parity"}, Duration(2'000));
      }
      void declare_outputs(OutputDeclarer&) override {}
      void execute(const TupleWindow& window, BoltCollector&) override {
        Ns ns;
        for (const Tuple& t : window.get()) ns.push_back(t.get_int("n"));
        std::lock_guard lock(log_->mutex);
        log_->windows.push_back({ns, {}, {}, window.start(), window.end()});
      }

     private:
      std::shared_ptr<WindowLog> log_;
    };
    class Parity : public BasicBolt {
     public:
      void declare_outputs(OutputDeclarer& d) override { d.declare({"n", "parity"}); }
      void execute(const Tuple& input, BasicCollector& out) override {
        out.emit({input.get_int(0), input.get_int(0) % 2});
      }
    };
    auto feed = feed_of({{0, 1}, {0, 2}, {1'000, 3}, {2'500, 4}, {4'000, 5}});
    auto log = std::make_shared<WindowLog>();
    TopologyBuilder b;
    b.set_spout("feed", make<FeedSpout>(feed));
    b.set_bolt("parity", make<Parity>()).shuffle_grouping("feed");
    b.set_bolt("sessions", make<Sessions>(log), 2).fields_grouping("parity", Fields{"parity"});
    TrackedTopology run(b.build());
    run.wait_idle();
    for (int i = 0; i < 16; ++i) run.advance_time(500ms);  // 8 s: past the last session's end
    CHECK(feed->acked_now() == std::set<std::int64_t>{1, 2, 3, 4, 5});
    run.stop();
    auto w = log->all();
    std::sort(w.begin(), w.end(), [](const SeenWindow& a, const SeenWindow& b) {
      return a.start < b.start;
    });
    // Odd: 1 (t0), 3 (t0 + 1 s) and 5 (t0 + 4 s, 3 s after 3: a new session). Even: 2 (t0) and 4
    // (t0 + 2.5 s, more than the 2 s gap after 2: a new session too).
    REQUIRE(w.size() == 4);
    const std::int64_t t0 = w[0].start;
    CHECK(w[0].start == w[1].start);
    std::vector<Ns> first_two{w[0].tuples, w[1].tuples};
    std::sort(first_two.begin(), first_two.end());
    CHECK(first_two == std::vector<Ns>{Ns{1, 3}, Ns{2}});
    CHECK(w[2].tuples == Ns{4});
    CHECK(w[2].start == t0 + 2'500);
    CHECK(w[2].end == t0 + 4'500);
    CHECK(w[3].tuples == Ns{5});
    CHECK(w[3].end == t0 + 6'000);
  }

  TEST_CASE("the rolling top words example ranks the words of its windows") {
    Config given;
    given.set("sentences.limit", 50);  // 10 rounds of the 5 sentences, all at the start
    const plugin::LoadedPlugin loaded =
        plugin::load_plugin(std::string(GALE_EXAMPLES_DIR) + "/rolling_top_words.so", given);
    RunOptions options;
    options.config = loaded.config;
    TrackedTopology run(loaded.topology, options);
    run.wait_idle();
    for (int i = 0; i < 16; ++i) run.advance_time(1s);  // past every window of the sentences
    CHECK(run.pending_trees() == 0);
    const auto rankings = run.result().emitted("rankings", "rankings");
    run.stop();
    // The first ranking: "the" 40 times (4 in each round), then "and" and "seven" 20 times each.
    REQUIRE(rankings.size() >= 3);
    CHECK(rankings[0] == Values{std::int64_t{1}, "the", std::int64_t{40}});
    CHECK(rankings[1] == Values{std::int64_t{2}, "and", std::int64_t{20}});
    CHECK(rankings[2] == Values{std::int64_t{3}, "seven", std::int64_t{20}});
  }

  TEST_CASE("the event time counts example counts each key per window and sends stragglers late") {
    Config given;
    given.set("events.limit", 400);  // 20 s of the clock: 100 s of event time
    const plugin::LoadedPlugin loaded =
        plugin::load_plugin(std::string(GALE_EXAMPLES_DIR) + "/event_time_counts.so", given);
    RunOptions options;
    options.config = loaded.config;
    TrackedTopology run(loaded.topology, options);
    run.wait_idle();
    // 20 events a second; a watermark tick a second later fires what the end of the feed released.
    for (int i = 0; i < 22; ++i) run.advance_time(1s);
    CHECK(run.pending_trees() == 0);
    const testing::CompletedTopology result = run.result();
    run.stop();

    // The feed, and one end-of-feed event per sensor far in the future.
    const std::vector<Values>& events = result.emitted("events");
    REQUIRE(events.size() == 404);
    for (std::size_t i = 400; i < 404; ++i) CHECK(events[i][1].as_int() > 1'000'000'000'000);
    // What the bolt must make of it: a tuple more than the 3 s lag behind the highest timestamp
    // before it is late (the feed's stragglers are 40 s behind, far past any watermark, and every
    // other event is less than the lag behind), and each other one counts in [ts / 10 s * 10 s,
    // + 10 s) of its key. The end-of-feed events' windows never fire.
    using KeyCount = std::tuple<std::string, std::int64_t, std::int64_t>;  // key, start, count
    using Late = std::tuple<std::string, std::int64_t>;                    // key, ts
    std::map<std::pair<std::string, std::int64_t>, std::int64_t> counted;
    std::vector<Late> expected_late;
    std::int64_t highest = 0;  // the feed starts at 0
    for (std::size_t i = 0; i < 400; ++i) {
      const std::string key = events[i][0].as_string();
      const std::int64_t ts = events[i][1].as_int();
      if (ts < highest - 3'000) {
        expected_late.emplace_back(key, ts);
      } else {
        ++counted[{key, ts / 10'000 * 10'000}];
      }
      highest = std::max(highest, ts);
    }
    std::vector<KeyCount> expected;
    for (const auto& [window, n] : counted) expected.emplace_back(window.first, window.second, n);
    // From 40 s on every 25th event is a straggler: events 174, 199, ..., 399.
    CHECK(expected_late.size() == 10);
    CHECK(expected.size() == 40);  // 10 windows of 10 s, each with events of all 4 sensors

    std::vector<KeyCount> counts;
    for (const Values& v : result.emitted("counts")) {
      counts.emplace_back(v[0].as_string(), v[1].as_int(), v[2].as_int());
    }
    std::sort(counts.begin(), counts.end());
    CHECK(counts == expected);
    std::vector<Late> late;
    for (const Values& v : result.emitted("counts", "late")) {
      // late_tuple_fields(): values, timestamp, source_component, source_stream.
      CHECK(v[0].as_list().at(1).as_int() == v[1].as_int());
      CHECK(v[2].as_string() == "events");
      CHECK(v[3].as_string() == "default");
      late.emplace_back(v[0].as_list().at(0).as_string(), v[1].as_int());
    }
    std::sort(late.begin(), late.end());
    std::sort(expected_late.begin(), expected_late.end());
    CHECK(late == expected_late);
    CHECK(result.counts("events").acked == 400);  // the end-of-feed events have no message id
    CHECK(result.counts("events").failed == 0);
    CHECK(result.counts("print").executed == 50);
  }

  TEST_CASE("invalid windows fail the build or the start, naming the bolt") {
    class NoWindow : public WindowedBolt {
     public:
      void declare_outputs(OutputDeclarer&) override {}
      void execute(const TupleWindow&, BoltCollector&) override {}
    };
    class TooLongSlide : public NoWindow {
     public:
      TooLongSlide() { with_window(Count(3), Count(5)); }
    };
    auto feed = feed_of({});
    {
      TopologyBuilder b;
      b.set_spout("feed", make<FeedSpout>(feed));
      b.set_bolt("plain", make<NoWindow>()).shuffle_grouping("feed");
      CHECK_THROWS_WITH_AS(b.build(), doctest::Contains("bolt 'plain'"), TopologyError);
      CHECK_THROWS_WITH_AS(b.build(), doctest::Contains("a WindowedBolt needs a window"),
                           TopologyError);
    }
    {
      TopologyBuilder b;
      b.set_spout("feed", make<FeedSpout>(feed));
      b.set_bolt("slide", make<TooLongSlide>()).shuffle_grouping("feed");
      CHECK_THROWS_WITH_AS(b.build(),
                           doctest::Contains("the sliding interval of 5 tuples is longer than "
                                             "the window of 3 tuples"),
                           TopologyError);
    }
    // 2001 tuples per window with acking on and the default 1000 pending trees: never fills.
    auto log = std::make_shared<WindowLog>();
    const Topology big = windowed(feed, log, Shape::count_sliding_2000);
    CHECK_THROWS_WITH_AS(TrackedTopology{big},
                         doctest::Contains("bolt 'w': a sliding window of 2000 tuples every 1 "
                                           "tuples holds up to 2001 tuples"),
                         ConfigError);
    RunOptions enough;
    enough.config.set(keys::topology_max_spout_pending, 2001);
    CHECK_NOTHROW(TrackedTopology(big, enough));
    RunOptions unacked;
    unacked.config.set(keys::topology_acker_executors, 0);
    CHECK_NOTHROW(TrackedTopology(big, unacked));

    class ByUser : public NoWindow {
     public:
      ByUser() { with_session_window(Fields{"user"}, Duration(1'000)); }
    };
    TopologyBuilder b;
    b.set_spout("feed", make<FeedSpout>(feed));
    b.set_bolt("sessions", make<ByUser>()).shuffle_grouping("feed");
    const Topology no_user = b.build();
    CHECK_THROWS_WITH_AS(TrackedTopology{no_user},
                         "bolt 'sessions': session windows by (user) with a gap of 1000 ms, but "
                         "its input 'feed:default' has no field 'user' (its fields: [n])",
                         ConfigError);
  }
}
