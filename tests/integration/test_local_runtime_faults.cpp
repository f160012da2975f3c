// The runtime under faults: a spout blocked on a full queue, a stop whose drain runs out, a
// component that fails to initialise. A bolt that blocks on a gate the test opens makes queues
// fill deterministically; every wait is on a condition, with a bound.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <gale/gale.hpp>
#include <gale/testing.hpp>

#include "cluster/local_cluster.hpp"
#include "common/clock.hpp"
#include "worker/worker.hpp"

#ifndef GALE_TEST_PLUGIN_DIR
#error "GALE_TEST_PLUGIN_DIR must name the test plugins' directory"
#endif

using namespace gale;
using namespace std::chrono_literals;

namespace {

// Polls `condition` every millisecond until it holds or `limit` passes.
template <class F>
bool wait_for(F&& condition, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Shared by a test and the components it builds.
struct Probe {
  // The gate: GateBolt::execute() waits until it opens.
  std::mutex mutex;
  std::condition_variable opened;
  bool open = false;
  std::atomic<int> executes{0};
  // The spout's side.
  std::atomic<int> fails{0};
  std::atomic<bool> in_emit{false};
  std::atomic<bool> closed{false};
  std::atomic<bool> fail_on_spout_thread{true};
  std::thread::id spout_thread;  // written by next_tuple before `in_emit` is first set

  void open_gate() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    opened.notify_all();
  }
};

class GateBolt : public Bolt {
 public:
  explicit GateBolt(std::shared_ptr<Probe> probe) : probe_(std::move(probe)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    probe_->executes.fetch_add(1);
    std::unique_lock lock(probe_->mutex);
    probe_->opened.wait(lock, [&] { return probe_->open; });
    out.ack(input);
  }

 private:
  std::shared_ptr<Probe> probe_;
};

// Emits `per_call` reliable tuples per next_tuple() call, forever; records where fail() runs.
class ProbeSpout : public Spout {
 public:
  ProbeSpout(std::shared_ptr<Probe> probe, int per_call)
      : probe_(std::move(probe)), per_call_(per_call) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
  void open(const Context&, SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    probe_->spout_thread = std::this_thread::get_id();
    probe_->in_emit = true;
    for (int i = 0; i < per_call_; ++i) out_->emit({n_}, MessageId(n_++));
    probe_->in_emit = false;
  }
  void fail(const MessageId&) override {
    if (std::this_thread::get_id() != probe_->spout_thread || probe_->in_emit) {
      probe_->fail_on_spout_thread = false;  // another thread, or inside next_tuple()
    }
    probe_->fails.fetch_add(1);
  }
  void close() override { probe_->closed = true; }

 private:
  std::shared_ptr<Probe> probe_;
  int per_call_;
  SpoutCollector* out_ = nullptr;
  std::int64_t n_ = 0;
};

// Components sorted by id: "gate" (bolt), then "spout".
const worker::ComponentStats& spout_stats(const worker::WorkerStats& stats) {
  return stats.components.at(1);
}

Topology gated_topology(const std::shared_ptr<Probe>& probe, int per_call) {
  TopologyBuilder b;
  b.set_spout("spout", make<ProbeSpout>(probe, per_call));
  b.set_bolt("gate", make<GateBolt>(probe)).shuffle_grouping("spout");
  return b.build();
}

Config small_queues() {
  Config config;
  config.set(keys::topology_executor_receive_buffer_size, 256);
  config.set(keys::topology_producer_batch_size, 16);
  config.set(keys::topology_max_spout_pending, Value());  // unbounded: the queues bound it
  return config;
}

std::string gale_exe() { return std::string(GALE_TEST_PLUGIN_DIR) + "/../../cli/gale"; }
std::string plugin(const std::string& name) {
  return std::string(GALE_TEST_PLUGIN_DIR) + "/" + name + ".so";
}
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("local_reliability") {
  TEST_CASE("a spout blocked on a full queue times its trees out on time; fail() runs after") {
    auto probe = std::make_shared<Probe>();
    auto clock = std::make_shared<common::ManualClock>();
    Config config = small_queues();
    config.set(keys::topology_message_timeout_secs, 30);
    worker::WorkerOptions options;
    options.clock = clock;
    worker::Worker w(gated_topology(probe, 1), config, options);
    w.start();
    // The gate holds the bolt's first tuple, its queue fills, and the spout blocks in emit(): in
    // next_tuple(), emitting no more. The queue holds at most 256 + 16 tuples beyond the bolt's
    // inbox.
    std::uint64_t emitted = 0;
    REQUIRE(wait_for([&] {
      const std::uint64_t before = spout_stats(w.stats()).emitted;
      std::this_thread::sleep_for(20ms);
      emitted = spout_stats(w.stats()).emitted;
      return probe->in_emit && emitted > 256 && emitted == before;
    }));
    clock->advance(41s);  // expiry lies within [30 s, 40 s]
    w.wake_all();
    // On time: while the spout is still blocked, every tree it started has failed.
    CHECK(wait_for([&] {
      const auto s = spout_stats(w.stats());
      return s.timed_out > 0 && s.pending == 0;
    }));
    const auto blocked = spout_stats(w.stats());
    CHECK(probe->in_emit);
    CHECK(blocked.failed == blocked.timed_out);
    // fail() is never called inside the spout's own next_tuple(): it waits for it to return.
    CHECK(probe->fails == 0);
    probe->open_gate();
    CHECK(wait_for([&] {
      return probe->fails.load() == static_cast<int>(blocked.timed_out);
    }));
    CHECK(probe->fail_on_spout_thread);
    w.stop(0ms);
    // A late ack of an expired tree does not count: each tree is acked or failed, once.
    const auto s = spout_stats(w.stats());
    CHECK(s.acked + s.failed + s.pending <= s.emitted);
  }

  TEST_CASE("stats() shows the trees in flight while a spout is blocked in a long round") {
    // One next_tuple() call emits 5,000 tuples into a queue of 256 that nobody empties: the call
    // blocks half-way, and the pending figure must show the trees started so far.
    auto probe = std::make_shared<Probe>();
    worker::Worker w(gated_topology(probe, 5000), small_queues());
    w.start();
    CHECK(wait_for([&] {
      const auto s = spout_stats(w.stats());
      // The tuple being handed over is counted as emitted, its tree starts when that is done.
      return s.emitted > 256 && s.pending + 1 >= s.emitted && w.pending_trees() == s.pending;
    }));
    const auto s = spout_stats(w.stats());
    INFO("emitted " << s.emitted << " pending " << s.pending);
    CHECK(s.pending > 256);
    probe->open_gate();
    w.stop(0ms);
  }
}

TEST_SUITE("local_reliability") {
  TEST_CASE("with acking on, max spout pending defaults to 1000; null lifts the bound") {
    // Keeps every input un-acked: every tree the spout starts stays pending.
    class Holder : public Bolt {
     public:
      void declare_outputs(OutputDeclarer&) override {}
      void execute(const Tuple& input, BoltCollector&) override { held_.push_back(input); }

     private:
      std::vector<Tuple> held_;
    };
    auto topology = [] {
      TopologyBuilder b;
      b.set_spout("spout", make<ProbeSpout>(std::make_shared<Probe>(), 1));
      b.set_bolt("hold", make<Holder>()).shuffle_grouping("spout");
      return b.build();
    };
    testing::TrackedTopology run(topology());
    run.wait_idle();  // the spout stops at the bound and idles
    CHECK(run.pending_trees() == static_cast<std::uint64_t>(default_max_spout_pending));
    run.stop();

    Config config;
    config.set(keys::topology_max_spout_pending, Value());
    worker::Worker w(topology(), config);
    w.start();
    CHECK(wait_for([&] { return w.pending_trees() > 5000; }));
    w.stop(0ms);
  }
}

TEST_SUITE("local_features") {
  TEST_CASE("stop's drain is a time limit: past it no execute() runs and pending trees are left") {
    auto probe = std::make_shared<Probe>();
    Config config = small_queues();
    config.set(keys::topology_executor_receive_buffer_size, 4096);  // a deep queue
    worker::Worker w(gated_topology(probe, 1), config);
    w.start();
    REQUIRE(wait_for([&] { return probe->executes == 1 && spout_stats(w.stats()).emitted > 4096; }));
    worker::StopSummary summary;
    std::chrono::steady_clock::duration took{};
    std::thread stopper([&] {
      const auto t0 = std::chrono::steady_clock::now();
      summary = w.stop(200ms);
      took = std::chrono::steady_clock::now() - t0;
    });
    // The spout executor leaves (close() runs) once the drain ran out, although the bolt is still
    // stuck in its first execute() and thousands of tuples are queued behind it.
    CHECK(wait_for([&] { return probe->closed.load(); }));
    probe->open_gate();  // the execute() under way returns; what is queued is dropped
    stopper.join();
    CHECK(probe->executes == 1);
    CHECK(summary.drain_ran_out);
    CHECK(summary.pending_trees > 4000);
    CHECK(summary.dropped_messages > 4000);
    CHECK(spout_stats(w.stats()).pending == summary.pending_trees);
    CHECK(took < 10s);
    CHECK(w.stop(0ms).pending_trees == summary.pending_trees);  // idempotent
  }

  TEST_CASE("stop within the drain completes every tree and drops nothing") {
    auto probe = std::make_shared<Probe>();
    probe->open_gate();
    worker::Worker w(gated_topology(probe, 1), small_queues());
    w.start();
    REQUIRE(wait_for([&] { return spout_stats(w.stats()).acked > 1000; }));
    const worker::StopSummary summary = w.stop(30s);
    CHECK_FALSE(summary.drain_ran_out);
    CHECK(summary.pending_trees == 0);
    CHECK(summary.dropped_messages == 0);
    const auto s = spout_stats(w.stats());
    CHECK(s.acked == s.emitted);
  }

  TEST_CASE("a bolt whose prepare() throws fails start(); nothing runs") {
    auto probe = std::make_shared<Probe>();
    probe->open_gate();
    class Unprepared : public GateBolt {
     public:
      using GateBolt::GateBolt;
      void prepare(const Context&, BoltCollector&) override {
        throw std::runtime_error("cannot open the model file");
      }
    };
    TopologyBuilder b;
    b.set_spout("spout", make<ProbeSpout>(probe, 1));
    b.set_bolt("gate", make<Unprepared>(probe), 2).shuffle_grouping("spout");
    const Topology topology = b.build();
    worker::Worker w(topology, Config{});
    std::string message;
    try {
      w.start();
    } catch (const worker::ComponentInitError& e) {
      message = e.what();
    }
    INFO(message);
    CHECK(contains(message, "bolt 'gate' task 1: prepare() threw: cannot open the model file"));
    CHECK(contains(message, "bolt 'gate' task 2: prepare()"));
    CHECK(probe->executes == 0);
    CHECK(spout_stats(w.stats()).emitted == 0);
    CHECK(probe->closed);  // the spout that did open is closed again
    // The test kit reports it the same way.
    CHECK_THROWS_AS(testing::TrackedTopology run(topology), worker::ComponentInitError);
  }

  TEST_CASE("a spout whose open() throws fails start(); nothing runs") {
    auto probe = std::make_shared<Probe>();
    probe->open_gate();
    class Unopened : public ProbeSpout {
     public:
      using ProbeSpout::ProbeSpout;
      void open(const Context&, SpoutCollector&) override {
        throw std::runtime_error("cannot reach the source queue");
      }
    };
    TopologyBuilder b;
    b.set_spout("spout", make<Unopened>(probe, 1));
    b.set_bolt("gate", make<GateBolt>(probe)).shuffle_grouping("spout");
    worker::Worker w(b.build(), Config{});
    std::string message;
    try {
      w.start();
    } catch (const worker::ComponentInitError& e) {
      message = e.what();
    }
    INFO(message);
    CHECK(contains(message, "spout 'spout' task 2: open() threw: cannot reach the source queue"));
    CHECK(probe->executes == 0);
    CHECK(spout_stats(w.stats()).emitted == 0);
  }

  TEST_CASE("gale local exits non-zero naming a component that failed to initialise") {
    auto bolt = cluster::run_program(
        {gale_exe(), "local", plugin("failing_init_plugin"), "--duration", "20"}, 60s);
    INFO(bolt.output);
    CHECK(bolt.exit_code == 1);
    CHECK(contains(bolt.output,
                   "gale: error: components failed to initialise: bolt 'broken' task 1: "
                   "prepare() threw: cannot open the model file; bolt 'broken' task 2"));
    auto spout = cluster::run_program({gale_exe(), "local", plugin("failing_init_plugin"),
                                       "--duration", "20", "-c", "test.fail=open"},
                                      60s);
    INFO(spout.output);
    CHECK(spout.exit_code == 1);
    CHECK(contains(spout.output, "gale: error: a component failed to initialise: spout 'numbers' "
                                 "task 3: open() threw: cannot reach the source queue"));
  }

  TEST_CASE("gale local reports the trees a short drain left pending") {
    // A topology whose bolt never finishes in time is cut by a 0.2 s drain, not waited for.
    auto r = cluster::run_program({gale_exe(), "local", plugin("failing_init_plugin"),
                                   "--duration", "1", "--drain", "0.2", "-c", "test.fail=none",
                                   "-c", "test.slow_ms=50"},
                                  60s);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.output, "left pending at stop"));
  }
}
