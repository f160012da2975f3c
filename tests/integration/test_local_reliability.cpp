#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>

#include "tests/integration/topologies.hpp"

using namespace gale;
using gale::testing::RunOptions;
using gale::testing::TrackedTopology;

namespace {

// What the spouts of one run saw; shared by the spout tasks through a pointer in the factory.
struct Ledger {
  std::mutex mutex;
  std::vector<int> acks;          // per id: times acked
  std::uint64_t replays = 0;      // fail() calls, each followed by a re-emit
  std::int64_t max_outstanding = 0;
};

// Emits ids [0, count) with message ids and keeps its own pending set; replays whatever fails.
class ReplayingSpout : public Spout {
 public:
  ReplayingSpout(std::shared_ptr<Ledger> ledger, int count) : ledger_(std::move(ledger)), count_(count) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"id"}); }
  void open(const Context& context, SpoutCollector& out) override {
    out_ = &out;
    for (int i = count_ - 1; i >= 0; --i) {
      if (i % static_cast<int>(context.component_tasks(context.component_id()).size()) ==
          context.task_index()) {
        todo_.push_back(i);
      }
    }
  }
  void next_tuple() override {
    if (todo_.empty()) return;
    int id = todo_.back();
    todo_.pop_back();
    out_->emit({id}, MessageId(id));
    ++outstanding_;
    std::lock_guard lock(ledger_->mutex);
    ledger_->max_outstanding = std::max(ledger_->max_outstanding, outstanding_);
  }
  void ack(const MessageId& id) override {
    --outstanding_;
    std::lock_guard lock(ledger_->mutex);
    ++ledger_->acks[static_cast<std::size_t>(id.as_int())];
  }
  void fail(const MessageId& id) override {
    --outstanding_;
    todo_.push_back(static_cast<int>(id.as_int()));
    std::lock_guard lock(ledger_->mutex);
    ++ledger_->replays;
  }

 private:
  std::shared_ptr<Ledger> ledger_;
  int count_;
  SpoutCollector* out_ = nullptr;
  std::vector<int> todo_;
  std::int64_t outstanding_ = 0;
};

// Fails about `fail_percent` % of its inputs at random, passes the others on anchored.
class FlakyBolt : public Bolt {
 public:
  explicit FlakyBolt(int fail_percent) : fail_percent_(fail_percent) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"id"}); }
  void prepare(const Context& context, BoltCollector&) override { rng_.seed(context.task_id() * 7919); }
  void execute(const Tuple& input, BoltCollector& out) override {
    if (static_cast<int>(rng_() % 100) < fail_percent_) {
      out.fail(input);
      return;
    }
    out.emit(input, {input.get_int(0)});
    out.ack(input);
  }

 private:
  int fail_percent_;
  std::mt19937 rng_;
};

// Never acks about 1% of its inputs, so their trees time out.
class ForgetfulBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer&) override {}
  void prepare(const Context& context, BoltCollector&) override { rng_.seed(context.task_id() * 104729); }
  void execute(const Tuple& input, BoltCollector& out) override {
    if (rng_() % 100 == 0) return;
    out.ack(input);
  }

 private:
  std::mt19937 rng_;
};

// Keeps its inputs (copies of the handles) and, once it holds `group` of them or on a tick,
// emits their sum anchored to all of them (a join of many trees) and one tuple per input
// anchored to it, then acks them: tuples outlive the batch that carried them.
class HoldingBolt : public Bolt {
 public:
  explicit HoldingBolt(std::size_t group) : group_(group) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"id"}); }
  Config component_config() const override {
    Config config;
    config.set(keys::topology_tick_tuple_freq_secs, 1);
    return config;
  }
  void execute(const Tuple& input, BoltCollector& out) override {
    if (!input.is_tick()) held_.push_back(input);
    if (held_.size() >= group_ || (input.is_tick() && !held_.empty())) flush(out);
  }

 private:
  void flush(BoltCollector& out) {
    std::int64_t sum = 0;
    for (const Tuple& t : held_) sum += t.get_int("id");
    out.emit(std::span<const Tuple>(held_), {-sum - 1});  // negative: not an id
    for (const Tuple& t : held_) out.emit(t, {t.get_int(0)});
    for (const Tuple& t : held_) out.ack(t);
    held_.clear();
  }

  std::size_t group_;
  std::vector<Tuple> held_;
};

// Records every id it sees (sums are negative) and acks.
class IdSink : public Bolt {
 public:
  explicit IdSink(std::shared_ptr<Ledger> seen) : seen_(std::move(seen)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    const std::int64_t id = input.get_int(0);
    if (id >= 0) {
      std::lock_guard lock(seen_->mutex);
      ++seen_->acks[static_cast<std::size_t>(id)];
    }
    out.ack(input);
  }

 private:
  std::shared_ptr<Ledger> seen_;
};

}  // namespace

TEST_SUITE("local_reliability") {
  TEST_CASE("a bolt that keeps its inputs and emits and acks them later completes every tree") {
    constexpr int k_ids = 20'000;
    auto ledger = std::make_shared<Ledger>();
    ledger->acks.assign(k_ids, 0);
    auto seen = std::make_shared<Ledger>();
    seen->acks.assign(k_ids, 0);
    TopologyBuilder b;
    b.set_spout("ids", make<ReplayingSpout>(ledger, k_ids), 2);
    b.set_bolt("holding", make<HoldingBolt>(37), 2).shuffle_grouping("ids");
    b.set_bolt("sink", make<IdSink>(seen), 2).shuffle_grouping("holding");
    RunOptions options;
    options.config.set(keys::topology_max_spout_pending, 500);
    options.wall_limit = std::chrono::seconds(120);
    TrackedTopology run(b.build(), options);
    run.run_to_completion();
    auto result = run.result();
    run.stop();

    auto counts = result.counts("ids");
    CHECK(counts.acked == static_cast<std::uint64_t>(k_ids));
    CHECK(counts.failed == 0);  // nothing timed out: every held tuple was acked in time
    std::lock_guard lock(ledger->mutex);
    std::lock_guard seen_lock(seen->mutex);
    for (int i = 0; i < k_ids; ++i) {
      REQUIRE(ledger->acks[static_cast<std::size_t>(i)] == 1);
      // Each id reached the sink once with its value intact, read from a kept handle.
      REQUIRE(seen->acks[static_cast<std::size_t>(i)] == 1);
    }
  }


  TEST_CASE("100,000 ids through failing and forgetful bolts are all acked in the end") {
    constexpr int k_ids = 100'000;
    auto ledger = std::make_shared<Ledger>();
    ledger->acks.assign(k_ids, 0);
    TopologyBuilder b;
    b.set_spout("ids", make<ReplayingSpout>(ledger, k_ids), 2);
    b.set_bolt("flaky", make<FlakyBolt>(10), 2).shuffle_grouping("ids");
    b.set_bolt("forgetful", make<ForgetfulBolt>(), 2).shuffle_grouping("flaky");
    RunOptions options;
    options.config.set(keys::topology_max_spout_pending, 2000);
    options.config.set(keys::topology_message_timeout_secs, 10);
    options.wall_limit = std::chrono::seconds(240);
    TrackedTopology run(b.build(), options);
    run.run_to_completion();
    auto result = run.result();
    run.stop();

    std::lock_guard lock(ledger->mutex);
    int missing = 0;
    for (int n : ledger->acks) missing += n == 0 ? 1 : 0;
    CHECK(missing == 0);
    auto counts = result.counts("ids");
    CHECK(counts.acked == static_cast<std::uint64_t>(k_ids));  // each tree acks once
    CHECK(counts.failed == ledger->replays);
    CHECK(counts.timed_out > 0);              // the forgetful bolt's trees timed out
    CHECK(counts.failed > counts.timed_out);  // and the flaky bolt's failed at once
    CHECK(ledger->replays > k_ids / 20);      // ~10% + ~1% of attempts
    CHECK(ledger->max_outstanding <= 2 * 2000);  // two tasks, 2000 each
    CHECK(result.simulated_time() >= std::chrono::seconds(10));
    MESSAGE("ids: " << k_ids << ", replays: " << ledger->replays << " (" << counts.timed_out
                    << " timeouts), simulated time " << result.simulated_time().count() << " ms");
  }

  TEST_CASE("max spout pending is never exceeded per spout task") {
    auto ledger = std::make_shared<Ledger>();
    ledger->acks.assign(5000, 0);
    TopologyBuilder b;
    b.set_spout("ids", make<ReplayingSpout>(ledger, 5000), 1).set_max_spout_pending(7);
    b.set_bolt("sink", make<ForgetfulBolt>(), 2).shuffle_grouping("ids");
    RunOptions options;
    options.config.set(keys::topology_message_timeout_secs, 5);
    TrackedTopology run(b.build(), options);
    run.run_to_completion();
    std::lock_guard lock(ledger->mutex);
    CHECK(ledger->max_outstanding == 7);  // reached, never exceeded
    for (int n : ledger->acks) REQUIRE(n >= 1);
  }

  TEST_CASE("a bolt's fail() fails the spout tuple at once, without waiting for the timeout") {
    auto ledger = std::make_shared<Ledger>();
    ledger->acks.assign(100, 0);
    TopologyBuilder b;
    b.set_spout("ids", make<ReplayingSpout>(ledger, 100), 1);
    b.set_bolt("flaky", make<FlakyBolt>(50), 1).shuffle_grouping("ids");
    TrackedTopology run(b.build());
    run.run_to_completion();  // the kit only moves time when trees wait on it
    auto result = run.result();
    CHECK(result.counts("ids").failed > 0);
    CHECK(result.counts("ids").timed_out == 0);
    CHECK(result.simulated_time().count() == 0);
    CHECK(result.counts("ids").acked == 100);
  }

  TEST_CASE("a tree that is never acked times out after topology.message.timeout.secs") {
    auto ledger = std::make_shared<Ledger>();
    ledger->acks.assign(1, 0);
    class BlackHole : public Bolt {
      void declare_outputs(OutputDeclarer&) override {}
      void execute(const Tuple&, BoltCollector&) override {}
    };
    TopologyBuilder b;
    b.set_spout("ids", make<ReplayingSpout>(ledger, 1), 1);
    b.set_bolt("hole", make<BlackHole>(), 1).shuffle_grouping("ids");
    RunOptions options;
    options.config.set(keys::topology_message_timeout_secs, 30);
    TrackedTopology run(b.build(), options);
    run.wait_idle();
    CHECK(run.pending_trees() == 1);
    run.advance_time(std::chrono::seconds(29));
    CHECK(run.result().counts("ids").timed_out == 0);
    run.advance_time(std::chrono::seconds(12));  // expiry lies within [30 s, 40 s]
    CHECK(run.result().counts("ids").timed_out >= 1);
    std::lock_guard lock(ledger->mutex);
    CHECK(ledger->replays >= 1);
  }

  TEST_CASE("at most once: no acker, spout tuples acked as emitted, a failed tuple never replayed") {
    auto ledger = std::make_shared<Ledger>();
    ledger->acks.assign(500, 0);
    // Fails every tuple: under at_least_once each would be replayed until it passed.
    class Refuser : public Bolt {
      void declare_outputs(OutputDeclarer&) override {}
      void execute(const Tuple& t, BoltCollector& out) override { out.fail(t); }
    };
    TopologyBuilder b;
    b.set_spout("ids", make<ReplayingSpout>(ledger, 500), 1);
    b.set_bolt("refuse", make<Refuser>(), 2).shuffle_grouping("ids");
    RunOptions options;
    options.config.set(keys::topology_processing_guarantee, "at_most_once");
    auto result = gale::testing::complete_topology(b.build(), options);
    CHECK(result.counts("ids").acked == 500);
    CHECK(result.counts("ids").failed == 0);
    CHECK(result.counts("refuse").executed == 500);
    std::lock_guard lock(ledger->mutex);
    CHECK(ledger->replays == 0);
    for (int n : ledger->acks) REQUIRE(n == 1);
  }

  TEST_CASE("with acking off, spout tuples are acked as soon as they are emitted") {
    auto ledger = std::make_shared<Ledger>();
    ledger->acks.assign(1000, 0);
    class BlackHole : public Bolt {
      void declare_outputs(OutputDeclarer&) override {}
      void execute(const Tuple&, BoltCollector&) override {}
    };
    TopologyBuilder b;
    b.set_spout("ids", make<ReplayingSpout>(ledger, 1000), 1);
    b.set_bolt("hole", make<BlackHole>(), 1).shuffle_grouping("ids");
    RunOptions options;
    options.config.set(keys::topology_acker_executors, 0);
    auto result = gale::testing::complete_topology(b.build(), options);
    CHECK(result.counts("ids").acked == 1000);
    CHECK(result.counts("ids").failed == 0);
    CHECK(result.counts("hole").executed == 1000);
    std::lock_guard lock(ledger->mutex);
    for (int n : ledger->acks) REQUIRE(n == 1);
  }
}
