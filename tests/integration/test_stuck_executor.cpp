// The stuck-executor watch in local mode: a bolt blocked in execute() on a gate the test holds is
// reported after topology.executor.stuck.secs and cleared once the gate opens; idle executors
// (an asleep spout, bolt, acker) never are. Every wait is on a condition, with a bound.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <gale/gale.hpp>
#include <gale/spouts/fixed_tuple_spout.hpp>

#include "cluster/local_cluster.hpp"
#include "common/clock.hpp"
#include "tests/support/support.hpp"
#include "worker/worker.hpp"

#ifndef GALE_TEST_PLUGIN_DIR
#error "GALE_TEST_PLUGIN_DIR must name the test plugins' directory"
#endif

using namespace gale;
using namespace std::chrono_literals;
using gale::test::wait_until;

namespace {

// A gate a bolt waits on in execute() until the test opens it.
struct Gate {
  std::mutex mutex;
  std::condition_variable opened;
  bool open = false;
  std::atomic<int> entered{0};

  void open_now() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    opened.notify_all();
  }
};

class GatedBolt : public Bolt {
 public:
  explicit GatedBolt(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"n"}); }
  void execute(const Tuple& input, BoltCollector& out) override {
    gate_->entered.fetch_add(1);
    std::unique_lock lock(gate_->mutex);
    gate_->opened.wait(lock, [&] { return gate_->open; });
    out.ack(input);
  }

 private:
  std::shared_ptr<Gate> gate_;
};

class QuietBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override { out.ack(input); }
};

// spout (3 tuples, then nothing) -> gate (2 tasks on one executor, blocks) -> quiet (never gets a tuple).
Topology gated_topology(const std::shared_ptr<Gate>& gate) {
  TopologyBuilder b;
  b.set_spout("spout", make<spouts::FixedTupleSpout>(
                           Fields{"n"}, std::vector<Values>{{1}, {2}, {3}}));
  b.set_bolt("gate", make<GatedBolt>(gate), 1).set_num_tasks(2).global_grouping("spout");
  b.set_bolt("quiet", make<QuietBolt>()).shuffle_grouping("gate");
  return b.build();
}

Config watched(std::int64_t stuck_secs) {
  Config config;
  config.set(keys::topology_executor_stuck_secs, stuck_secs);
  config.set(keys::topology_executor_stuck_policy, "report");
  return config;
}

std::string gale_exe() { return std::string(GALE_TEST_PLUGIN_DIR) + "/../../cli/gale"; }

}  // namespace

TEST_SUITE("local_features") {
  TEST_CASE("a bolt blocked in execute() is reported stuck, then cleared; idle ones never are") {
    auto gate = std::make_shared<Gate>();
    worker::Worker w(gated_topology(gate), watched(1));
    CHECK(w.check_progress().empty());  // not started
    w.start();
    REQUIRE(wait_until([&] { return gate->entered.load() == 1; }));

    std::vector<worker::StuckExecutor> stuck;
    bool others_reported = false;
    const bool reported = wait_until(
        [&] {
          stuck = w.check_progress();
          for (const auto& s : stuck) others_reported |= s.component != "gate";
          return !stuck.empty();
        },
        20s);
    REQUIRE(reported);
    CHECK_FALSE(others_reported);
    REQUIRE(stuck.size() == 1);
    CHECK(stuck[0].component == "gate");
    CHECK(stuck[0].kind == "bolt");
    REQUIRE(stuck[0].tasks.size() == 2);
    CHECK(stuck[0].tasks[1] == stuck[0].tasks[0] + 1);
    CHECK(stuck[0].inside == "execute()");
    CHECK(stuck[0].secs >= 1);
    CHECK(stuck[0].describe().starts_with(
        "executor of bolt 'gate' (tasks " + std::to_string(stuck[0].tasks[0]) + "-" +
        std::to_string(stuck[0].tasks[1]) + ") made no progress for "));
    CHECK(stuck[0].describe().find(" s inside execute() with ") != std::string::npos);
    const worker::WorkerStats stats = w.stats();
    REQUIRE(stats.stuck.size() == 1);
    CHECK(stats.stuck[0].component == "gate");

    gate->open_now();
    CHECK(wait_until([&] { return w.check_progress().empty(); }, 20s));
    CHECK(w.stats().stuck.empty());
    w.stop(1s);
    CHECK(w.check_progress().empty());  // stopped
  }

  TEST_CASE("idle executors are not stuck, however long the clock says they slept") {
    // A simulated clock jumps an hour between two checks: the idle executors, asleep on their
    // empty queues, are not stuck, while a blocked one in the same worker is.
    auto clock = std::make_shared<common::ManualClock>();
    auto gate = std::make_shared<Gate>();
    worker::WorkerOptions options;
    options.clock = clock;
    worker::Worker w(gated_topology(gate), watched(60), options);
    w.start();
    REQUIRE(wait_until([&] { return gate->entered.load() == 1; }));
    // The spout is done after three tuples; wait until it, too, sleeps on its queue.
    REQUIRE(wait_until([&] { return w.spouts_idle(); }));
    CHECK(w.check_progress().empty());
    clock->advance(1h);
    const std::vector<worker::StuckExecutor> stuck = w.check_progress();
    REQUIRE(stuck.size() == 1);
    CHECK(stuck[0].component == "gate");
    CHECK(stuck[0].secs == 3600);
    gate->open_now();
    w.stop(1s);
  }

  TEST_CASE("topology.executor.stuck.secs = 0 turns the watch off") {
    auto clock = std::make_shared<common::ManualClock>();
    auto gate = std::make_shared<Gate>();
    worker::WorkerOptions options;
    options.clock = clock;
    worker::Worker w(gated_topology(gate), watched(0), options);
    w.start();
    REQUIRE(wait_until([&] { return gate->entered.load() == 1; }));
    CHECK(w.check_progress().empty());
    clock->advance(1h);
    CHECK(w.check_progress().empty());
    gate->open_now();
    w.stop(1s);
  }

  TEST_CASE("gale local under the restart policy exits with status 5 naming the stuck bolt") {
    auto r = cluster::run_program({gale_exe(), "local",
                                   std::string(GALE_TEST_PLUGIN_DIR) + "/stuck_plugin.so",
                                   "--duration", "60", "-c", "topology.executor.stuck.secs=1"},
                                  60s);
    INFO(r.output);
    CHECK(r.exit_code == 5);
    CHECK(r.output.find("gale: error: executor of bolt 'hang' (task 1) made no progress for ") !=
          std::string::npos);
    CHECK(r.output.find("local mode cannot restart it") != std::string::npos);
  }

  TEST_CASE("gale local under the report policy ends after the drain though a bolt never returns") {
    // The bolt stays inside execute() for ever: stop() cannot join its thread, so the command
    // ends on its own, a grace after the drain, and says why.
    const auto started = std::chrono::steady_clock::now();
    auto r = cluster::run_program({gale_exe(), "local",
                                   std::string(GALE_TEST_PLUGIN_DIR) + "/stuck_plugin.so",
                                   "--duration", "1", "--drain", "1", "-c",
                                   "topology.executor.stuck.policy=report"},
                                  60s);
    INFO(r.output);
    CHECK(r.exit_code == 5);
    CHECK(r.output.find("gale: error: stopping did not finish 5 s after the drain: a spout or bolt "
                        "is still inside a user call") != std::string::npos);
    // Well before the harness's 60 s: the duration, the drain and the grace.
    CHECK(std::chrono::steady_clock::now() - started < 30s);
  }
}
