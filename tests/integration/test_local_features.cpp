#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <gale/spouts/fixed_tuple_spout.hpp>

#include "tests/integration/topologies.hpp"
#include "tests/support/support.hpp"
#include "worker/worker.hpp"

using namespace gale;
using namespace std::chrono_literals;
using gale::spouts::FixedTupleSpout;
using gale::testing::complete_topology;
using gale::testing::CompletedTopology;
using gale::testing::RunOptions;
using gale::testing::TrackedTopology;

namespace {

std::vector<Values> numbers(int n) {
  std::vector<Values> out;
  for (int i = 0; i < n; ++i) out.push_back({i});
  return out;
}

// Emits a tuple on every tick and counts the other inputs.
class TickBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"ticks"}); }
  void execute(const Tuple& input, BoltCollector& out) override {
    if (input.is_tick()) {
      CHECK(input.source_component() == "__system");
      CHECK(input.source_stream() == "__tick");
      out.emit({++ticks_});
    }
    out.ack(input);
  }

 private:
  std::int64_t ticks_ = 0;
};

// Throws on the first attempt of every 10th number; passes everything else on.
class ThrowingBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
  void execute(const Tuple& input, BoltCollector& out) override {
    auto n = input.get_int("n");
    if (n % 10 == 0 && thrown_.insert(n).second) throw std::runtime_error("boom on " + std::to_string(n));
    out.emit(input, {n});
    out.ack(input);
  }

 private:
  std::set<std::int64_t> thrown_;
};

class PassBolt : public BasicBolt {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
  void execute(const Tuple& input, BasicCollector& out) override { out.emit({input.get(0)}); }
};

// Routes even numbers to stream "even" and odd ones to "odd"; emits directly to task (n % 2) of
// "direct_sink" on the direct stream "pick".
class SorterBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer& d) override {
    d.declare_stream("even", {"n"});
    d.declare_stream("odd", {"n"});
    d.declare_direct_stream("pick", {"n", "task"});
  }
  void prepare(const Context& context, BoltCollector&) override {
    sinks_ = context.component_tasks("direct_sink");
  }
  void execute(const Tuple& input, BoltCollector& out) override {
    auto n = input.get_int(0);
    out.emit_to(n % 2 == 0 ? "even" : "odd", input, {n});
    std::int32_t task = sinks_[static_cast<std::size_t>(n % 2)];
    out.emit_direct(task, "pick", input, {n, task});
    out.ack(input);
  }

 private:
  std::vector<std::int32_t> sinks_;
};

// Re-emits (n, its own task id) so the test can see which task got what.
class WhereBolt : public BasicBolt {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n", "expected", "task"}); }
  void prepare(const Context& context) override { task_ = context.task_id(); }
  void execute(const Tuple& input, BasicCollector& out) override {
    out.emit({input.get(0), input.size() > 1 ? input.get(1) : Value(), task_});
  }

 private:
  std::int32_t task_ = 0;
};

// Emits 0, 1, 2, ... reliably (the number is the message id), as fast as it is called.
class EndlessSpout : public Spout {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
  void open(const Context&, SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override { out_->emit({n_}, MessageId(n_++)); }

 private:
  SpoutCollector* out_ = nullptr;
  std::int64_t n_ = 0;
};

std::atomic<int> g_closed{0};
std::atomic<int> g_cleaned{0};

class ClosingSpout : public FixedTupleSpout {
 public:
  ClosingSpout() : FixedTupleSpout(Fields{"n"}, numbers(10)) {}
  void close() override { ++g_closed; }
};

class CleaningBolt : public PassBolt {
 public:
  void cleanup() override { ++g_cleaned; }
};

// Counts the calls a CountedSpout gets.
struct SpoutCalls {
  std::atomic<std::uint64_t> next_tuple{0};
  std::atomic<int> activate{0};
  std::atomic<int> deactivate{0};
};

class CountedSpout : public EndlessSpout {
 public:
  explicit CountedSpout(SpoutCalls* calls) : calls_(calls) {}
  void next_tuple() override {
    calls_->next_tuple.fetch_add(1);
    EndlessSpout::next_tuple();
  }
  void activate() override { calls_->activate.fetch_add(1); }
  void deactivate() override { calls_->deactivate.fetch_add(1); }

 private:
  SpoutCalls* calls_;
};

// When a QuietSpout's next_tuple() was called, and which call emitted. Thread-safe.
class CallLog {
 public:
  static constexpr std::size_t k_none = static_cast<std::size_t>(-1);

  // Called by the spout: notes the time; true when this call is to emit.
  bool note_call() {
    std::lock_guard lock(mutex_);
    times_.push_back(std::chrono::steady_clock::now());
    if (!emit_next_) return false;
    emit_next_ = false;
    emitting_call_ = times_.size() - 1;
    return true;
  }
  // The next call emits one tuple.
  void emit_next() {
    std::lock_guard lock(mutex_);
    emit_next_ = true;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return times_.size();
  }
  std::size_t emitting_call() const {
    std::lock_guard lock(mutex_);
    return emitting_call_;
  }
  std::vector<std::chrono::steady_clock::time_point> times() const {
    std::lock_guard lock(mutex_);
    return times_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::chrono::steady_clock::time_point> times_;
  bool emit_next_ = false;
  std::size_t emitting_call_ = k_none;
};

// Emits nothing unless its CallLog says so.
class QuietSpout : public Spout {
 public:
  explicit QuietSpout(CallLog* log) : log_(log) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
  void open(const Context&, SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    if (log_->note_call()) out_->emit({std::int64_t{1}});
  }

 private:
  CallLog* log_;
  SpoutCollector* out_ = nullptr;
};

// A QuietSpout that hands its collector's waker to the test.
class WakeableSpout : public QuietSpout {
 public:
  WakeableSpout(CallLog* log, std::promise<SpoutWaker>* waker) : QuietSpout(log), waker_(waker) {}
  void open(const Context& context, SpoutCollector& out) override {
    QuietSpout::open(context, out);
    waker_->set_value(out.waker());
  }

 private:
  std::promise<SpoutWaker>* waker_;
};

// A started worker running a QuietSpout with topology.spout.wait.max.ms = max_ms and no ackers
// (so no timeout timer ever shortens the spout's sleep).
std::unique_ptr<worker::Worker> run_quiet_spout(CallLog& log, std::int64_t max_ms) {
  TopologyBuilder b;
  b.set_spout("s", make<QuietSpout>(&log));
  b.set_bolt("b", make<PassBolt>()).shuffle_grouping("s");
  Config config;
  config.set(keys::topology_spout_wait_max_ms, max_ms);
  config.set(keys::topology_acker_executors, 0);
  auto w = std::make_unique<worker::Worker>(b.build(), config);
  w->start();
  return w;
}

// The sleep an idle spout takes after its n-th empty round in a row (n >= 1), with the default
// topology.sleep.spout.wait.strategy.time.ms of 1 ms.
std::chrono::milliseconds idle_sleep(std::size_t n, std::int64_t max_ms) {
  return std::chrono::milliseconds(
      std::min<std::int64_t>(std::int64_t{1} << std::min<std::size_t>(n - 1, 30), max_ms));
}

}  // namespace

TEST_SUITE("local_features") {
  TEST_CASE("tick tuples arrive at topology.tick.tuple.freq.secs, per component") {
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(3)));
    b.set_bolt("ticker", make<TickBolt>(), 2)
        .shuffle_grouping("s")
        .add_configuration(keys::topology_tick_tuple_freq_secs, 2);
    b.set_bolt("quiet", make<TickBolt>()).shuffle_grouping("s");
    TrackedTopology run(b.build());
    run.wait_idle();
    CHECK(run.result().emitted("ticker").empty());
    run.advance_time(1s);
    CHECK(run.result().emitted("ticker").empty());
    run.advance_time(1s);
    CHECK(run.result().emitted("ticker").size() == 2);  // one per task
    run.advance_time(6s);
    CHECK(run.result().emitted("ticker").size() == 8);  // three more per task
    CHECK(run.result().emitted("quiet").empty());       // no tick config, no ticks
    CHECK(run.result().counts("s").acked == 3);
  }

  TEST_CASE("tick tuples come at a fraction of a second too") {
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(3)));
    b.set_bolt("ticker", make<TickBolt>())
        .shuffle_grouping("s")
        .add_configuration(keys::topology_tick_tuple_freq_secs, 0.25);
    TrackedTopology run(b.build());
    run.wait_idle();
    run.advance_time(200ms);
    CHECK(run.result().emitted("ticker").empty());
    run.advance_time(50ms);
    CHECK(run.result().emitted("ticker").size() == 1);
    run.advance_time(1s);
    CHECK(run.result().emitted("ticker").size() == 5);
  }

  TEST_CASE("the test kit gives each run a new topology.id, or the one the test gives") {
    // A spout that emits the topology.id its task was given, once.
    class IdSpout : public Spout {
     public:
      void declare_outputs(OutputDeclarer& d) override { d.declare({"id"}); }
      void open(const Context& context, SpoutCollector& out) override {
        out_ = &out;
        id_ = context.config().get_string(keys::topology_id, "(none)");
      }
      void next_tuple() override {
        if (!sent_) out_->emit({id_}, 1);
        sent_ = true;
      }

     private:
      SpoutCollector* out_ = nullptr;
      std::string id_;
      bool sent_ = false;
    };
    TopologyBuilder b;
    b.set_spout("ids", make<IdSpout>());
    const Topology topology = b.build();
    auto id_of = [](const CompletedTopology& result) {
      REQUIRE(result.emitted("ids").size() == 1);
      return result.emitted("ids")[0][0].as_string();
    };
    RunOptions named;
    named.config.set(keys::topology_name, "ids");
    const std::string first = id_of(complete_topology(topology, named));
    const std::string second = id_of(complete_topology(topology, named));
    CHECK(first.rfind("ids-local-", 0) == 0);
    CHECK(second.rfind("ids-local-", 0) == 0);
    CHECK(first != second);
    RunOptions given;
    given.config.set(keys::topology_id, "ids-7-1733200000");
    CHECK(id_of(complete_topology(topology, given)) == "ids-7-1733200000");
  }

  TEST_CASE("a bolt that throws fails that tuple and the topology keeps running") {
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(200)));
    b.set_bolt("thrower", make<ThrowingBolt>()).shuffle_grouping("s");
    b.set_bolt("after", make<PassBolt>()).shuffle_grouping("thrower");
    auto result = complete_topology(b.build());
    CHECK(result.counts("thrower").errors == 20);
    CHECK(result.counts("thrower").failed == 20);
    CHECK(result.counts("s").failed == 20);   // failed at once, then replayed
    CHECK(result.counts("s").acked == 200);   // every number made it in the end
    std::set<std::int64_t> seen;
    for (const Values& v : result.emitted("after")) seen.insert(v[0].as_int());
    CHECK(seen.size() == 200);
  }

  TEST_CASE("named streams reach only their subscribers; direct streams reach the chosen task") {
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(100)));
    b.set_bolt("sorter", make<SorterBolt>(), 2).shuffle_grouping("s");
    b.set_bolt("evens", make<WhereBolt>()).shuffle_grouping("sorter", "even");
    b.set_bolt("all_odds", make<WhereBolt>(), 3).all_grouping("sorter", "odd");
    b.set_bolt("direct_sink", make<WhereBolt>(), 2).direct_grouping("sorter", "pick");
    auto result = complete_topology(b.build());
    CHECK(result.emitted("sorter", "even").size() == 50);
    CHECK(result.emitted("sorter", "odd").size() == 50);
    for (const Values& v : result.emitted("evens")) CHECK(v[0].as_int() % 2 == 0);
    CHECK(result.emitted("evens").size() == 50);
    CHECK(result.emitted("all_odds").size() == 150);  // every odd number to each of 3 tasks
    REQUIRE(result.emitted("direct_sink").size() == 100);
    for (const Values& v : result.emitted("direct_sink")) CHECK(v[1].as_int() == v[2].as_int());
    CHECK(result.counts("s").acked == 100);
  }

  TEST_CASE("emitting to an undeclared stream throws an error naming the stream") {
    static std::string message;
    message.clear();
    class Wrong : public Bolt {
      void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
      void execute(const Tuple& input, BoltCollector& out) override {
        try {
          out.emit_to("nope", input, {1});
        } catch (const TopologyError& e) {
          message = e.what();
        }
        out.ack(input);
      }
    };
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(1)));
    b.set_bolt("wrong", make<Wrong>()).shuffle_grouping("s");
    auto result = complete_topology(b.build());
    CHECK(message.find("'nope'") != std::string::npos);
    CHECK(message.find("'wrong'") != std::string::npos);
    CHECK(result.counts("s").acked == 1);
  }

  TEST_CASE("acking is skipped for spout tuples emitted without a message id") {
    class Unreliable : public Spout {
      void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
      void open(const Context&, SpoutCollector& out) override { out_ = &out; }
      void next_tuple() override {
        if (n_ < 50) out_->emit({n_++});
      }
      SpoutCollector* out_ = nullptr;
      int n_ = 0;
    };
    class BlackHole : public Bolt {
      void declare_outputs(OutputDeclarer&) override {}
      void execute(const Tuple&, BoltCollector&) override {}
    };
    TopologyBuilder b;
    b.set_spout("s", make<Unreliable>());
    b.set_bolt("hole", make<BlackHole>()).shuffle_grouping("s");
    auto result = complete_topology(b.build());  // completes: nothing is pending
    CHECK(result.counts("s").emitted == 50);
    CHECK(result.counts("s").acked == 0);
    CHECK(result.counts("hole").executed == 50);
  }

  TEST_CASE("stop calls close() and cleanup() on every task") {
    g_closed = 0;
    g_cleaned = 0;
    TopologyBuilder b;
    b.set_spout("s", make<ClosingSpout>(), 2);
    b.set_bolt("b", make<CleaningBolt>(), 3).shuffle_grouping("s");
    complete_topology(b.build());
    CHECK(g_closed == 2);
    CHECK(g_cleaned == 3);
  }

  TEST_CASE("invalid runtime config is rejected naming the key") {
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(1)));
    Config config;
    config.set(keys::topology_acker_executors, -1);
    std::string message;
    try {
      worker::Worker w(b.build(), config);
    } catch (const ConfigError& e) {
      message = e.what();
    }
    CHECK(message.find("topology.acker.executors") != std::string::npos);
  }

  TEST_CASE("deactivate stops next_tuple; activate resumes it") {
    SpoutCalls calls;
    TopologyBuilder b;
    b.set_spout("s", make<CountedSpout>(&calls));
    b.set_bolt("b", make<PassBolt>()).shuffle_grouping("s");
    worker::Worker w(b.build(), Config{});
    auto spout_stats = [&] { return w.stats().components[1]; };  // sorted by id: b, s
    w.start();
    REQUIRE(test::wait_until([&] { return spout_stats().emitted >= 1000; }));
    CHECK(calls.activate == 1);
    w.deactivate();
    // sync_timers() returns after every executor ran a full round begun after the call, and a
    // round starts by looking at the activation: the spout has seen the deactivation.
    w.sync_timers();
    CHECK(calls.deactivate == 1);
    // topology.max.spout.pending is unset (unbounded): only the deactivation holds the spout back.
    const std::uint64_t calls_before = calls.next_tuple;
    const std::uint64_t emitted_before = spout_stats().emitted;
    // Each sync runs the spout executor's loop once more; an active spout would be called there.
    for (int i = 0; i < 5; ++i) w.sync_timers();
    CHECK(calls.next_tuple == calls_before);
    CHECK(spout_stats().emitted == emitted_before);
    w.activate();
    CHECK(test::wait_until([&] { return spout_stats().emitted > emitted_before; }));
    CHECK(calls.activate == 2);
    w.stop(std::chrono::seconds(5));
    auto s = spout_stats();
    CHECK(s.component == "s");
    CHECK(s.pending == 0);
    CHECK(s.acked == s.emitted);  // stop drained every pending tree
  }

  TEST_CASE("stop drains the trees a spout starts while the deactivation reaches it") {
    // stop() deactivates and then waits for pending trees. A spout in the middle of a round of
    // next_tuple() calls when the deactivation comes finishes that round; stop must wait for it,
    // or the trees started then are never acked (the spout executor leaves before their acks).
    // The window is widest right after an activation: nothing is pending yet and the first round
    // is under way.
    TopologyBuilder b;
    b.set_spout("s", make<EndlessSpout>());
    b.set_bolt("b", make<PassBolt>()).shuffle_grouping("s");
    const Topology topology = b.build();
    for (int round = 0; round < 20; ++round) {
      CAPTURE(round);
      worker::Worker w(topology, Config{});
      w.start();
      w.deactivate();
      REQUIRE(test::wait_until([&] { return w.stats().components[1].pending == 0; }));
      const auto before = w.stats().components[1].emitted;
      w.activate();
      // Spins rather than sleeps: stop() is to come as soon as the first round is under way.
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (w.stats().components[1].emitted == before) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::yield();
      }
      const auto stopping = std::chrono::steady_clock::now();
      w.stop(std::chrono::seconds(5));
      auto s = w.stats().components[1];  // components sorted by id: b, s
      REQUIRE(s.pending == 0);
      REQUIRE(s.acked == s.emitted);
      // Draining takes milliseconds; the 5 s bound is only reached when trees are lost.
      REQUIRE(std::chrono::steady_clock::now() - stopping < std::chrono::seconds(2));
    }
  }

  TEST_CASE("executor threads are named after their component and first task") {
    TopologyBuilder b;
    b.set_spout("numbers", make<FixedTupleSpout>(Fields{"n"}, numbers(3)));
    b.set_bolt("a_rather_long_bolt_name", make<PassBolt>()).shuffle_grouping("numbers");
    worker::Worker w(b.build(), Config{});
    w.start();
    std::multiset<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(entry.path() / "comm");
      std::string name;
      std::getline(comm, name);
      if (name.rfind("gale:", 0) == 0) names.insert(name);
    }
    w.stop();
    // Tasks are numbered in component order: the bolt 1, the spout 2, the acker 3. The kernel
    // keeps 15 characters of a name.
    CHECK(names == std::multiset<std::string>{"gale:a_rather_l", "gale:numbers:2", "gale:acker:3"});
  }

  // An idle spout's sleeps are read off the gaps between its next_tuple() calls. A timed wait
  // never ends early unless the queue is woken, and nothing wakes these spouts (no acks, no
  // timeouts, no commands), so every gap is at least the sleep before it however loaded the
  // machine is. Upper bounds are only checked against what a broken rule would take many times.
  TEST_CASE("an idle spout's sleep doubles up to topology.spout.wait.max.ms") {
    CallLog log;
    auto w = run_quiet_spout(log, 50);
    // Capped, 16 calls take 1 + 2 + ... + 32 + 9 * 50 ms, about 0.5 s; doubling on they would
    // take 32 s.
    CHECK(test::wait_until([&] { return log.count() >= 16; }, 10s));
    w->stop(1s);
    const auto times = log.times();
    for (std::size_t i = 0; i + 1 < times.size(); ++i) {
      CAPTURE(i);
      CHECK(times[i + 1] - times[i] >= idle_sleep(i + 1, 50));
    }
  }

  TEST_CASE("with topology.spout.wait.max.ms = 1 an idle spout sleeps 1 ms every time (Storm)") {
    CallLog log;
    auto w = run_quiet_spout(log, 1);
    // About 0.2 s; with the default 100 ms maximum it would take 19 s.
    CHECK(test::wait_until([&] { return log.count() >= 200; }, 10s));
    w->stop(1s);
    const auto times = log.times();
    for (std::size_t i = 0; i + 1 < times.size(); ++i) CHECK(times[i + 1] - times[i] >= 1ms);
  }

  TEST_CASE("an emit resets an idle spout's sleep") {
    CallLog log;
    auto w = run_quiet_spout(log, 1000);
    // After 9 empty rounds the sleep is 512 ms and still growing.
    REQUIRE(test::wait_until([&] { return log.count() >= 9; }, 10s));
    log.emit_next();
    w->wake_all();  // ends the current sleep: the next call comes now and emits
    REQUIRE(test::wait_until([&] { return log.emitting_call() != CallLog::k_none; }, 10s));
    const std::size_t e = log.emitting_call();
    // The emitting round goes on to call e + 1, which emits nothing, and is followed at once by
    // the round of call e + 2; from there the sleeps start over at 1, 2, 4 ms. Without the reset
    // each of them would be the 1 s maximum.
    REQUIRE(test::wait_until([&] { return log.count() >= e + 5; }, 10s));
    w->stop(1s);
    const auto times = log.times();
    CHECK(times[e + 4] - times[e + 2] >= idle_sleep(1, 1000) + idle_sleep(2, 1000));
    CHECK(times[e + 4] - times[e + 2] < 1s);  // 3 ms; at least 2 s without the reset
  }

  TEST_CASE("a spout's waker ends its idle sleep from another thread") {
    CallLog log;
    std::promise<SpoutWaker> promised;
    std::future<SpoutWaker> waker = promised.get_future();
    TopologyBuilder b;
    b.set_spout("s", [&] { return std::make_unique<WakeableSpout>(&log, &promised); });
    b.set_bolt("b", make<PassBolt>()).shuffle_grouping("s");
    Config config;
    // The first empty round sleeps a minute: only the waker brings the next call sooner.
    config.set(keys::topology_sleep_spout_wait_strategy_time_ms, 60'000);
    config.set(keys::topology_spout_wait_max_ms, 60'000);
    config.set(keys::topology_acker_executors, 0);
    worker::Worker w(b.build(), config);
    w.start();
    REQUIRE(waker.wait_for(10s) == std::future_status::ready);
    REQUIRE(test::wait_until([&] { return log.count() >= 1; }, 10s));
    log.emit_next();
    std::thread source([wake = waker.get()] { wake.wake(); });  // e.g. a client library's thread
    source.join();
    CHECK(test::wait_until([&] { return log.emitting_call() != CallLog::k_none; }, 10s));
    w.stop(1s);
  }

  TEST_CASE("a default-made SpoutWaker wakes nothing") {
    SpoutWaker nothing;
    nothing.wake();  // no target: returns
    int woken = 0;
    const SpoutWaker counting([](void* n) noexcept { ++*static_cast<int*>(n); }, &woken);
    const SpoutWaker copy = counting;
    copy.wake();
    CHECK(woken == 1);
  }

  TEST_CASE("the Gale wait settings are validated") {
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(1)));
    for (const char* key : {keys::topology_spout_wait_max_ms, keys::topology_executor_spin_micros,
                            keys::topology_executor_spin_light_load}) {
      Config config;
      config.set(key, -1);  // negative, and not a boolean
      std::string message;
      try {
        worker::Worker w(b.build(), config);
      } catch (const ConfigError& e) {
        message = e.what();
      }
      CHECK(message.find(key) != std::string::npos);
    }
  }
}
