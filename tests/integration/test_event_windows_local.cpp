#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gale/gale.hpp>
#include <gale/testing.hpp>

// Event-time and aggregating windowed bolts run by the test kit on its simulated clock: window
// contents by timestamp, the late tuple stream, the watermark over two input tasks with an idle
// one released, aggregation against the full window, and the checks of the settings.

using namespace gale;
using namespace std::chrono_literals;
using gale::testing::RunOptions;
using gale::testing::TrackedTopology;

namespace {

// One event: emitted once the clock is `at` ms past the spout's open, as (n, key, ts), message
// id n.
struct Event {
  std::int64_t at;
  std::int64_t n;
  std::string key;
  std::int64_t ts;
};

// The events of each spout task (by task index), and what came back.
struct Schedule {
  std::mutex mutex;
  std::vector<std::deque<Event>> per_task;
  std::set<std::int64_t> acked;
  std::set<std::int64_t> failed;
  std::set<std::int64_t> acked_now() {
    std::lock_guard lock(mutex);
    return acked;
  }
  std::set<std::int64_t> failed_now() {
    std::lock_guard lock(mutex);
    return failed;
  }
};

// Thread: its task's executor (the schedule is shared with the test, under its mutex).
class EventSpout : public Spout {
 public:
  explicit EventSpout(std::shared_ptr<Schedule> schedule) : schedule_(std::move(schedule)) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n", "key", "ts"}); }
  void open(const Context& context, SpoutCollector& out) override {
    context_ = &context;
    out_ = &out;
    opened_ = context.now_ms();
  }
  void next_tuple() override {
    std::lock_guard lock(schedule_->mutex);
    auto& todo = schedule_->per_task.at(static_cast<std::size_t>(context_->task_index()));
    while (!todo.empty() && todo.front().at <= context_->now_ms() - opened_) {
      const Event e = todo.front();
      todo.pop_front();
      out_->emit({e.n, e.key, e.ts}, Value(e.n));
    }
  }
  void ack(const MessageId& id) override {
    std::lock_guard lock(schedule_->mutex);
    schedule_->acked.insert(id.as_int());
  }
  void fail(const MessageId& id) override {
    std::lock_guard lock(schedule_->mutex);
    schedule_->failed.insert(id.as_int());
  }

 private:
  std::shared_ptr<Schedule> schedule_;
  const Context* context_ = nullptr;
  SpoutCollector* out_ = nullptr;
  std::int64_t opened_ = 0;
};

using Ns = std::vector<std::int64_t>;

struct Seen {
  Ns tuples, fresh, expired;
  std::int64_t start = 0, end = 0;
};

struct Log {
  std::mutex mutex;
  std::vector<Seen> windows;
  std::vector<Seen> all() {
    std::lock_guard lock(mutex);
    return windows;
  }
};

Ns ns_of(const std::vector<Tuple>& tuples) {
  Ns out;
  for (const Tuple& t : tuples) out.push_back(t.get_int("n"));
  return out;
}

// Records every window it is given; emits nothing.
// Thread: its task's executor.
class RecordingBolt : public WindowedBolt {
 public:
  explicit RecordingBolt(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const TupleWindow& w, BoltCollector&) override {
    std::lock_guard lock(log_->mutex);
    log_->windows.push_back(
        {ns_of(w.get()), ns_of(w.get_new()), ns_of(w.get_expired()), w.start(), w.end()});
  }

 private:
  std::shared_ptr<Log> log_;
};

class TumblingTenSeconds : public RecordingBolt {
 public:
  explicit TumblingTenSeconds(std::shared_ptr<Log> log) : RecordingBolt(std::move(log)) {
    with_tumbling_window(Duration(10'000))
        .with_timestamp_field("ts")
        .with_lag(Duration(2'000))
        .with_late_tuple_stream("late");
  }
};

class AckBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override { out.ack(input); }
};

std::shared_ptr<Schedule> schedule_of(std::vector<std::deque<Event>> per_task) {
  auto s = std::make_shared<Schedule>();
  s->per_task = std::move(per_task);
  return s;
}

// Per (key, window end): the count, from either bolt of the aggregation test.
using Counts = std::set<std::tuple<std::string, std::int64_t, std::int64_t>>;

}  // namespace

TEST_SUITE("windows") {
  TEST_CASE("event time: out-of-order tuples land in their window, late ones in the late stream") {
    // The watermark trails the highest timestamp by the 2 s lag and moves on ticks at whole
    // seconds; the events come at half seconds, so that no event and tick arrive together.
    auto schedule = schedule_of({{
        {0, 1, "a", 1'000},
        {0, 2, "a", 9'500},
        {0, 3, "a", 8'000},  // out of order, within the lag
        {0, 4, "a", 11'500},
        {0, 5, "a", 10'000},
        {0, 6, "a", 9'000},       // behind 11500 by 2.5 s, but [0, 10000) has not fired: on time
        {1'500, 7, "a", 12'500},  // the watermark reaches 10500 at the next tick
        {3'500, 8, "a", 9'999},   // [0, 10000) has fired: late
        {4'500, 9, "a", 22'500},  // the watermark reaches 20500
    }});
    auto log = std::make_shared<Log>();
    TopologyBuilder b;
    b.set_spout("events", make<EventSpout>(schedule));
    b.set_bolt("w", make<TumblingTenSeconds>(log)).shuffle_grouping("events");
    b.set_bolt("late_sink", make<AckBolt>()).shuffle_grouping("w", "late");
    TrackedTopology run(b.build());
    run.wait_idle();
    for (int i = 0; i < 12; ++i) run.advance_time(500ms);
    const auto late = run.result().emitted("w", "late");
    CHECK(schedule->acked_now() == std::set<std::int64_t>{1, 2, 3, 6, 8});
    CHECK(run.pending_trees() == 4);  // 4, 5, 7 until [10000, 20000) is dropped; 9 in its window
    run.stop();

    const auto w = log->all();
    REQUIRE(w.size() == 2);
    CHECK(w[0].start == 0);
    CHECK(w[0].end == 10'000);
    CHECK(w[0].tuples == Ns{1, 3, 6, 2});  // by timestamp
    CHECK(w[0].fresh == Ns{1, 3, 6, 2});
    CHECK(w[1].start == 10'000);
    CHECK(w[1].tuples == Ns{5, 4, 7});
    CHECK(w[1].expired == Ns{1, 3, 6, 2});
    REQUIRE(late.size() == 1);
    CHECK(late[0] ==
          Values{Value(List{Value(std::int64_t{8}), Value("a"), Value(std::int64_t{9'999})}),
                 std::int64_t{9'999}, "events", "default"});
  }

  TEST_CASE("the watermark is the lowest over two input tasks; an idle one is released") {
    class OneSecond : public RecordingBolt {
     public:
      explicit OneSecond(std::shared_ptr<Log> log) : RecordingBolt(std::move(log)) {
        with_tumbling_window(Duration(1'000))
            .with_timestamp_field("ts")
            .with_idle_timeout(Duration(3'000));
      }
    };
    auto schedule = schedule_of({
        // Task 0 runs ahead and keeps sending.
        {{0, 1, "a", 500}, {1'500, 2, "a", 5'500}, {2'500, 4, "a", 5'600}},
        // Task 1 is slow, then falls silent.
        {{0, 3, "b", 700}},
    });
    auto log = std::make_shared<Log>();
    TopologyBuilder b;
    b.set_spout("events", make<EventSpout>(schedule), 2);
    b.set_bolt("w", make<OneSecond>(log)).shuffle_grouping("events");
    TrackedTopology run(b.build());
    run.wait_idle();
    // Task 1's last sign of life is its watermark message at 1 s (its highest timestamp, 700,
    // sent every watermark interval while it moves on): it holds [0, 1000) until 4 s.
    for (int i = 0; i < 7; ++i) run.advance_time(500ms);  // 3.5 s
    CHECK(log->all().empty());
    run.advance_time(500ms);  // 4 s: task 1 silent for its idle timeout
    const auto w = log->all();
    run.stop();
    // [0, 1000), then the empty window after it, which shows its tuples leaving.
    REQUIRE(w.size() == 2);
    CHECK(w[0].end == 1'000);
    CHECK(w[0].tuples == Ns{1, 3});
    CHECK(w[1].end == 2'000);
    CHECK(w[1].tuples.empty());
    CHECK(w[1].expired == Ns{1, 3});
  }

  TEST_CASE("watermarks reach every task of a bolt, whatever tasks the tuples went to") {
    // Keys "k0".."k7" send one tuple each at the start, then only "a" goes on. By a fields
    // grouping over 2 tasks, some task holds silent keys only: its own tuples never pass their
    // windows, and inputs never count as idle here. The spout's watermark stream (its highest
    // timestamp, sent to both tasks every watermark interval) closes their windows all the same.
    class Counts : public WindowedBolt {
     public:
      Counts() {
        with_tumbling_window(Duration(1'000))
            .with_timestamp_field("ts")
            .with_idle_timeout(Duration(0))
            .with_aggregate(std::make_unique<CountAggregate>(), Fields{"key"});
      }
      void declare_outputs(OutputDeclarer& d) override { d.declare({"key", "end", "count"}); }
      void execute(const TupleWindow& w, BoltCollector& out) override {
        out.emit({w.key()[0], w.end(), w.result()});
      }
    };
    std::deque<Event> events;
    for (int k = 0; k < 8; ++k) events.push_back({0, k, "k" + std::to_string(k), 100 + k});
    for (int i = 1; i <= 5; ++i) events.push_back({i * 500 - 250, 100 + i, "a", i * 1'000 + 1});
    auto schedule = schedule_of({events});
    TopologyBuilder b;
    b.set_spout("events", make<EventSpout>(schedule));
    b.set_bolt("counts", make<Counts>(), 2).fields_grouping("events", Fields{"key"});
    const Topology topology = b.build();
    // The builder gave the spout its watermark stream and the bolt an all grouping on it.
    CHECK(topology.component("events").find_stream(watermark_stream) != nullptr);
    TrackedTopology run(topology);
    run.wait_idle();
    for (int i = 0; i < 8; ++i) run.advance_time(500ms);
    const auto emitted = run.result().emitted("counts");
    CHECK(schedule->acked_now().size() == 12);  // all but "a" at 5001, in its open window
    run.stop();
    std::set<std::string> closed;
    for (const Values& v : emitted) {
      if (v[1].as_int() == 1'000) closed.insert(v[0].as_string());
    }
    CHECK(closed == std::set<std::string>{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"});
  }

  TEST_CASE("incremental aggregation gives the same counts as the full window") {
    // Two bolts on the same input: one counts per key from its window's tuples, the other keeps
    // a CountAggregate per key. Both emit (key, end, count) for every key of every window.
    class Full : public WindowedBolt {
     public:
      Full() {
        with_window(Duration(3'000), Duration(1'000))
            .with_timestamp_field("ts")
            .with_lag(Duration(500));
      }
      void declare_outputs(OutputDeclarer& d) override { d.declare({"key", "end", "count"}); }
      void execute(const TupleWindow& w, BoltCollector& out) override {
        std::map<std::string, std::int64_t> counts;
        for (const Tuple& t : w.get()) ++counts[t.get_string("key")];
        for (const auto& [key, count] : counts) out.emit({key, w.end(), count});
      }
    };
    class Aggregated : public WindowedBolt {
     public:
      Aggregated() {
        with_window(Duration(3'000), Duration(1'000))
            .with_timestamp_field("ts")
            .with_lag(Duration(500))
            .with_aggregate(std::make_unique<CountAggregate>(), Fields{"key"});
      }
      void declare_outputs(OutputDeclarer& d) override { d.declare({"key", "end", "count"}); }
      void execute(const TupleWindow& w, BoltCollector& out) override {
        REQUIRE(w.aggregated());
        out.emit({w.key()[0], w.end(), w.result()});
      }
    };
    std::mt19937 rng(7);
    std::deque<Event> events;
    std::int64_t highest = 0;
    for (std::int64_t n = 1; n <= 2'000; ++n) {
      // Timestamps move on 5 ms per event, out of order by up to the 500 ms lag.
      const std::int64_t ts = std::max<std::int64_t>(0, n * 5 - static_cast<int>(rng() % 500));
      highest = std::max(highest, ts);
      events.push_back(
          {(n / 100) * 500 + 250, n, std::string(1, static_cast<char>('a' + rng() % 5)), ts});
    }
    // One event per key far ahead moves the watermark of every task of "aggregated" past all
    // the windows: each task sees only its keys' tuples.
    for (char key = 'a'; key <= 'e'; ++key) {
      events.push_back({events.back().at, 3'000 + key, std::string(1, key), highest + 10'000});
    }
    auto schedule = schedule_of({events});
    TopologyBuilder b;
    b.set_spout("events", make<EventSpout>(schedule));
    b.set_bolt("full", make<Full>()).shuffle_grouping("events");
    b.set_bolt("aggregated", make<Aggregated>(), 2).fields_grouping("events", Fields{"key"});
    RunOptions options;
    options.config.set(keys::topology_max_spout_pending, 5'000);
    TrackedTopology run(b.build(), options);
    run.wait_idle();
    for (int i = 0; i < 30; ++i) run.advance_time(500ms);
    CHECK(run.pending_trees() == 5);  // the windows of the events far ahead never close
    CHECK(schedule->failed_now().empty());
    const auto full = run.result().emitted("full");
    const auto aggregated = run.result().emitted("aggregated");
    run.stop();
    auto counts_of = [](const std::vector<Values>& emitted) {
      Counts c;
      for (const Values& v : emitted) c.insert({v[0].as_string(), v[1].as_int(), v[2].as_int()});
      return c;
    };
    const Counts expected = counts_of(full);
    CHECK(expected.size() > 50);
    CHECK(counts_of(aggregated) == expected);
    CHECK(aggregated.size() == full.size());  // every window and key once
  }

  TEST_CASE("a tuple without a usable timestamp is failed and reported") {
    class WithStringTime : public Spout {
     public:
      void declare_outputs(OutputDeclarer& d) override { d.declare({"ts"}); }
      void open(const Context&, SpoutCollector& out) override { out_ = &out; }
      void next_tuple() override {
        if (sent_) return;
        sent_ = true;
        out_->emit({"yesterday"}, Value(std::int64_t{1}));
      }

     private:
      SpoutCollector* out_ = nullptr;
      bool sent_ = false;
    };
    auto log = std::make_shared<Log>();
    class ByTs : public RecordingBolt {
     public:
      explicit ByTs(std::shared_ptr<Log> log) : RecordingBolt(std::move(log)) {
        with_tumbling_window(Duration(1'000)).with_timestamp_field("ts");
      }
    };
    TopologyBuilder b;
    b.set_spout("s", make<WithStringTime>());
    b.set_bolt("w", make<ByTs>(log)).shuffle_grouping("s");
    TrackedTopology run(b.build());
    run.wait_idle();
    CHECK(run.result().counts("w").errors == 1);
    CHECK(run.result().counts("w").failed == 1);
    CHECK(run.pending_trees() == 0);
    run.stop();
  }

  TEST_CASE("event-time settings are checked at build and start, naming the bolt") {
    auto schedule = schedule_of({{}});
    class ByCount : public RecordingBolt {
     public:
      ByCount() : RecordingBolt(nullptr) {
        with_tumbling_window(Count(10)).with_timestamp_field("ts");
      }
    };
    {
      TopologyBuilder b;
      b.set_spout("events", make<EventSpout>(schedule));
      b.set_bolt("counted", make<ByCount>()).shuffle_grouping("events");
      CHECK_THROWS_WITH_AS(b.build(), doctest::Contains("bolt 'counted'"), TopologyError);
      CHECK_THROWS_WITH_AS(b.build(), doctest::Contains("event time needs a window by duration"),
                           TopologyError);
    }
    class ByWhen : public RecordingBolt {
     public:
      ByWhen() : RecordingBolt(nullptr) {
        with_tumbling_window(Duration(1'000)).with_timestamp_field("when");
      }
    };
    TopologyBuilder b;
    b.set_spout("events", make<EventSpout>(schedule));
    b.set_bolt("timed", make<ByWhen>()).shuffle_grouping("events");
    const Topology no_when = b.build();
    CHECK_THROWS_WITH_AS(TrackedTopology{no_when},
                         doctest::Contains("bolt 'timed': a tumbling window of 1000 ms in event "
                                           "time (field 'when', lag 0 ms), but its input "
                                           "'events:default' has no field 'when'"),
                         ConfigError);
  }
}
