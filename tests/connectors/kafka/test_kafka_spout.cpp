#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gale/gale.hpp>
#include <gale/spouts/kafka_spout.hpp>

#include "tests/connectors/kafka/kafka_test_support.hpp"

// KafkaSpout against the mock cluster, in local mode on the real clock: records produced by the
// test with a plain producer, read by a consumer group of spout tasks, checked by a bolt that
// records what arrives.

using namespace gale;
using namespace std::chrono_literals;
using namespace gale::test::kafka;

namespace {

// What the checking bolts of one test saw, by record number (the record's value).
struct Ledger {
  explicit Ledger(int records) : seen(static_cast<std::size_t>(records), 0) {}
  std::mutex mutex;
  std::vector<int> seen;              // deliveries acked per record
  std::set<int> failed_once;          // records failed on their first arrival
  std::vector<std::string> errors;    // (position, reason) of error-stream tuples
  std::set<std::int64_t> partitions;  // partitions records arrived from

  int missing() {
    std::lock_guard lock(mutex);
    return static_cast<int>(std::count(seen.begin(), seen.end(), 0));
  }
  int seen_in(int from, int to) {
    std::lock_guard lock(mutex);
    int n = 0;
    for (int i = from; i < to; ++i) n += seen[static_cast<std::size_t>(i)] > 0 ? 1 : 0;
    return n;
  }
};

// About `fail_percent` % of the records, chosen by a hash of their number, fail the first time a
// checking bolt sees them; the rest, and those on their retry, are recorded and acked. Records
// numbered in `always_fail` always fail.
class CheckBolt : public Bolt {
 public:
  CheckBolt(std::shared_ptr<Ledger> ledger, int fail_percent, std::set<int> always_fail = {})
      : ledger_(std::move(ledger)),
        fail_percent_(fail_percent),
        always_fail_(std::move(always_fail)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    if (input.fields().contains("reason")) {  // the error stream
      std::lock_guard lock(ledger_->mutex);
      ledger_->errors.push_back(input.get_string("position") + " " + input.get_string("reason"));
      out.ack(input);
      return;
    }
    const int number = std::stoi(input.get_string("value"));
    const std::uint64_t hash = static_cast<std::uint64_t>(number) * 0x9E3779B97F4A7C15ULL;
    std::lock_guard lock(ledger_->mutex);
    if (always_fail_.count(number) != 0 ||
        ((hash >> 40) % 100 < static_cast<std::uint64_t>(fail_percent_) &&
         ledger_->failed_once.insert(number).second)) {
      out.fail(input);
      return;
    }
    ++ledger_->seen[static_cast<std::size_t>(number)];
    ledger_->partitions.insert(input.get_int("partition"));
    out.ack(input);
  }

 private:
  std::shared_ptr<Ledger> ledger_;
  int fail_percent_;
  std::set<int> always_fail_;
};

std::vector<Record> numbered(int from, int to) {
  std::vector<Record> out;
  for (int i = from; i < to; ++i) out.push_back({"key-" + std::to_string(i), std::to_string(i)});
  return out;
}

Config spout_config(const MockCluster& kafka, const std::string& topic, const std::string& group) {
  Config c;
  c.set("kafka.bootstrap.servers", kafka.bootstrap());
  c.set("kafka.topics", topic);
  c.set("kafka.group.id", group);
  c.set("kafka.offset.commit.period.ms", 200);
  c.set("kafka.retry.initial.delay.ms", 20);
  // Quick group membership changes on the mock cluster.
  c.set("kafka.consumer.session.timeout.ms", 6000);
  c.set("kafka.consumer.heartbeat.interval.ms", 200);
  return c;
}

// spout_config() with an uncommitted cap of 20 and a periodic commit that never comes round.
Config capped_without_period(const MockCluster& kafka, const std::string& topic,
                             const std::string& group) {
  Config c = spout_config(kafka, topic, group);
  c.set("kafka.max.uncommitted.offsets", 20);
  c.set("kafka.offset.commit.period.ms", 3'600'000);
  return c;
}

Topology topology(const Config& spout, int spout_tasks, std::shared_ptr<Ledger> ledger,
                  int fail_percent, std::set<int> always_fail = {}) {
  TopologyBuilder b;
  b.set_spout("kafka", make<spouts::KafkaSpout>(spout), spout_tasks);
  b.set_bolt("check", make<CheckBolt>(ledger, fail_percent, always_fail), 2)
      .shuffle_grouping("kafka")
      .shuffle_grouping("kafka", "errors");
  return b.build();
}

// `deployment`: the topology.id the runtime gives the tasks (one per submission), or none.
Config run_config(const std::string& deployment = "") {
  Config c;
  c.set(keys::topology_message_timeout_secs, 30);
  if (!deployment.empty()) c.set(keys::topology_id, deployment);
  return c;
}

Config with_strategy(Config spout, const std::string& strategy) {
  spout.set("kafka.first.poll.offset.strategy", strategy);
  return spout;
}

// Every record numbered in [from, to) was delivered `times` times.
bool seen_times(Ledger& ledger, int from, int to, int times) {
  std::lock_guard lock(ledger.mutex);
  for (int i = from; i < to; ++i) {
    if (ledger.seen[static_cast<std::size_t>(i)] != times) return false;
  }
  return true;
}

// The group committed the end of every partition: everything read was done.
bool fully_committed(const MockCluster& kafka, const std::string& group, const std::string& topic,
                     int partitions) {
  return committed(kafka.bootstrap(), group, topic, partitions) ==
         end_offsets(kafka.bootstrap(), topic, partitions);
}

}  // namespace

TEST_SUITE("connector_kafka") {
  TEST_CASE(
      "100,000 records through a 2-task spout with 5% failed downstream all arrive and are "
      "committed") {
    constexpr int k_records = 100'000;
    constexpr int k_partitions = 4;
    MockCluster kafka(3, {{"events", k_partitions}});
    produce(kafka.bootstrap(), "events", numbered(0, k_records));
    auto ledger = std::make_shared<Ledger>(k_records);
    LocalRun run(topology(spout_config(kafka, "events", "g-100k"), 2, ledger, 5), run_config());

    CHECK(eventually([&] { return ledger->missing() == 0; }, 120s));
    CHECK(eventually([&] { return fully_committed(kafka, "g-100k", "events", k_partitions); }, 20s,
                     200ms));
    run.stop();
    std::lock_guard lock(ledger->mutex);
    MESSAGE("failed once downstream: " << ledger->failed_once.size());
    CHECK(ledger->failed_once.size() > k_records / 25);  // about 5%
    CHECK(ledger->failed_once.size() < k_records / 15);
    CHECK(ledger->errors.empty());
    const std::vector<std::int64_t> ends = end_offsets(kafka.bootstrap(), "events", k_partitions);
    std::int64_t total = 0;
    for (std::int64_t e : ends) total += e;
    CHECK(total == k_records);
  }

  TEST_CASE(
      "uncommitted_latest skips what was there without a commit; uncommitted_earliest resumes "
      "from the group's commit in a new deployment") {
    MockCluster kafka(1, {{"logs", 2}});
    produce(kafka.bootstrap(), "logs", numbered(0, 100));  // there before the spout
    auto ledger = std::make_shared<Ledger>(2000);
    {
      Config latest = spout_config(kafka, "logs", "g-strategy");
      latest.set("kafka.first.poll.offset.strategy", "uncommitted_latest");
      LocalRun run(topology(latest, 1, ledger, 0), run_config("logs-1-100"));
      // Markers until some arrive from both partitions: the spout then reads both from their end.
      int marker = 1000;
      REQUIRE(eventually(
          [&] {
            produce(kafka.bootstrap(), "logs", numbered(marker, marker + 4));
            marker += 4;
            std::lock_guard lock(ledger->mutex);
            return ledger->partitions.size() == 2;
          },
          30s, 300ms));
      produce(kafka.bootstrap(), "logs", numbered(100, 200));
      CHECK(eventually([&] { return ledger->seen_in(100, 200) == 100; }, 30s));
      CHECK(
          eventually([&] { return fully_committed(kafka, "g-strategy", "logs", 2); }, 20s, 200ms));
      CHECK(ledger->seen_in(0, 100) == 0);
    }
    // Another deployment with the default strategy (uncommitted_earliest): resumes after the
    // group's commit, whichever deployment made it.
    produce(kafka.bootstrap(), "logs", numbered(200, 300));
    LocalRun run(topology(spout_config(kafka, "logs", "g-strategy"), 1, ledger, 0),
                 run_config("logs-2-200"));
    CHECK(eventually([&] { return ledger->seen_in(200, 300) == 100; }, 30s));
    CHECK(eventually([&] { return fully_committed(kafka, "g-strategy", "logs", 2); }, 20s, 200ms));
    run.stop();
    std::lock_guard lock(ledger->mutex);
    for (int i = 0; i < 100; ++i) CHECK(ledger->seen[static_cast<std::size_t>(i)] == 0);
    for (int i = 100; i < 300; ++i) CHECK(ledger->seen[static_cast<std::size_t>(i)] == 1);
  }

  TEST_CASE(
      "earliest: a restart of the same deployment resumes from its commit; a new deployment "
      "reads everything again") {
    MockCluster kafka(1, {{"history", 2}});
    produce(kafka.bootstrap(), "history", numbered(0, 100));
    auto ledger = std::make_shared<Ledger>(150);
    const Config earliest = with_strategy(spout_config(kafka, "history", "g-earliest"), "earliest");
    {
      LocalRun run(topology(earliest, 1, ledger, 5), run_config("history-1-100"));
      REQUIRE(eventually([&] { return ledger->missing() == 50; }, 30s));
      REQUIRE(eventually([&] { return fully_committed(kafka, "g-earliest", "history", 2); }, 20s,
                         200ms));
    }
    // The same deployment again (a restarted worker keeps its topology.id): from the commit.
    produce(kafka.bootstrap(), "history", numbered(100, 150));
    {
      LocalRun run(topology(earliest, 1, ledger, 0), run_config("history-1-100"));
      CHECK(eventually([&] { return ledger->missing() == 0; }, 30s));
      CHECK(eventually([&] { return fully_committed(kafka, "g-earliest", "history", 2); }, 20s,
                       200ms));
      run.stop();
      CHECK(seen_times(*ledger, 0, 150, 1));
    }
    // A new deployment (the topology submitted again): everything once more, then committed.
    LocalRun run(topology(earliest, 1, ledger, 0), run_config("history-2-200"));
    CHECK(eventually([&] { return seen_times(*ledger, 0, 150, 2); }, 30s));
    CHECK(
        eventually([&] { return fully_committed(kafka, "g-earliest", "history", 2); }, 20s, 200ms));
  }

  TEST_CASE(
      "latest: a new deployment skips what was there; a restart of the same deployment resumes "
      "from its commit") {
    MockCluster kafka(1, {{"feed", 2}});
    produce(kafka.bootstrap(), "feed", numbered(0, 100));  // there before the first deployment
    auto ledger = std::make_shared<Ledger>(500);
    const Config latest = with_strategy(spout_config(kafka, "feed", "g-latest"), "latest");
    {
      LocalRun run(topology(latest, 1, ledger, 0), run_config("feed-1-100"));
      // The spout commits where it starts (the end) as soon as it has the partitions.
      REQUIRE(
          eventually([&] { return fully_committed(kafka, "g-latest", "feed", 2); }, 30s, 200ms));
      produce(kafka.bootstrap(), "feed", numbered(100, 200));
      CHECK(eventually([&] { return ledger->seen_in(100, 200) == 100; }, 30s));
      CHECK(eventually([&] { return fully_committed(kafka, "g-latest", "feed", 2); }, 20s, 200ms));
    }
    // Produced while no spout runs, then the same deployment again: from its commit.
    produce(kafka.bootstrap(), "feed", numbered(200, 300));
    {
      LocalRun run(topology(latest, 1, ledger, 0), run_config("feed-1-100"));
      CHECK(eventually([&] { return ledger->seen_in(200, 300) == 100; }, 30s));
      CHECK(eventually([&] { return fully_committed(kafka, "g-latest", "feed", 2); }, 20s, 200ms));
    }
    // Produced while no spout runs, then a new deployment: from the end.
    produce(kafka.bootstrap(), "feed", numbered(300, 400));
    LocalRun run(topology(latest, 1, ledger, 0), run_config("feed-2-200"));
    REQUIRE(eventually([&] { return fully_committed(kafka, "g-latest", "feed", 2); }, 30s, 200ms));
    produce(kafka.bootstrap(), "feed", numbered(400, 500));
    CHECK(eventually([&] { return ledger->seen_in(400, 500) == 100; }, 30s));
    CHECK(eventually([&] { return fully_committed(kafka, "g-latest", "feed", 2); }, 20s, 200ms));
    run.stop();
    CHECK(ledger->seen_in(0, 100) == 0);
    CHECK(ledger->seen_in(300, 400) == 0);
    CHECK(seen_times(*ledger, 100, 300, 1));
    CHECK(seen_times(*ledger, 400, 500, 1));
  }

  TEST_CASE("earliest and latest without topology.id fail to start, naming the key") {
    MockCluster kafka(1, {{"orphan", 1}});
    auto ledger = std::make_shared<Ledger>(1);
    for (const char* strategy : {"earliest", "latest"}) {
      CAPTURE(strategy);
      std::string error;
      try {
        LocalRun run(topology(with_strategy(spout_config(kafka, "orphan", "g-orphan"), strategy), 1,
                              ledger, 0),
                     run_config());
      } catch (const std::exception& e) {
        error = e.what();
      }
      CHECK(error.find("KafkaSpout: kafka.first.poll.offset.strategy earliest and latest need "
                       "topology.id") != std::string::npos);
    }
  }

  TEST_CASE("a record that keeps failing goes to the error stream, and its offset is committed") {
    MockCluster kafka(1, {{"jobs", 1}});
    produce(kafka.bootstrap(), "jobs", numbered(0, 50));
    auto ledger = std::make_shared<Ledger>(50);
    Config config = spout_config(kafka, "jobs", "g-errors");
    config.set("kafka.retry.max", 2);
    LocalRun run(topology(config, 1, ledger, 0, {7}), run_config());
    CHECK(eventually([&] { return ledger->missing() == 1; }, 30s));
    CHECK(eventually([&] { return fully_committed(kafka, "g-errors", "jobs", 1); }, 20s, 200ms));
    run.stop();
    std::lock_guard lock(ledger->mutex);
    REQUIRE(ledger->errors.size() == 1);
    CHECK(ledger->errors[0] == "jobs/0/7 failed 3 times (kafka.retry.max = 2)");
    CHECK(ledger->seen[7] == 0);
  }

  TEST_CASE("a partition half way to kafka.max.uncommitted.offsets commits without waiting") {
    MockCluster kafka(1, {{"capped", 1}});
    produce(kafka.bootstrap(), "capped", numbered(0, 500));
    auto ledger = std::make_shared<Ledger>(500);
    LocalRun run(topology(capped_without_period(kafka, "capped", "g-cap"), 1, ledger, 0),
                 run_config());
    // The period never comes round: the early commits alone move the partition past the cap, so
    // every record arrives and the group's commit ends within the cap of the end (close()
    // commits the rest).
    CHECK(eventually([&] { return ledger->missing() == 0; }, 60s));
    CHECK(eventually(
        [&] { return committed(kafka.bootstrap(), "g-cap", "capped", 1)[0] >= 500 - 20; }, 20s,
        200ms));
    run.stop();
    CHECK(fully_committed(kafka, "g-cap", "capped", 1));
    std::lock_guard lock(ledger->mutex);
    CHECK(std::count(ledger->seen.begin(), ledger->seen.end(), 1) == 500);  // each exactly once
  }

  TEST_CASE("kafka.max.uncommitted.offsets holds a partition whose first record is not done") {
    MockCluster kafka(1, {{"held", 1}});
    produce(kafka.bootstrap(), "held", numbered(0, 500));
    auto ledger = std::make_shared<Ledger>(500);
    Config config = capped_without_period(kafka, "held", "g-held");
    config.set("kafka.retry.max", -1);  // record 5 fails for good: retried forever
    config.set("kafka.retry.max.delay.ms", 100);
    LocalRun run(topology(config, 1, ledger, 0, {5}), run_config());
    // 0-4 are done and committed early; from the commit at 5, offsets up to 24 fit under the cap.
    REQUIRE(eventually([&] { return ledger->seen_in(0, 500) == 24; }, 30s));
    CHECK(eventually([&] { return committed(kafka.bootstrap(), "g-held", "held", 1)[0] == 5; },
                     20s, 200ms));
    // Several retries of record 5 later, the partition still holds at the cap.
    const std::uint64_t emitted = run.stats("kafka").emitted;
    REQUIRE(eventually([&] { return run.stats("kafka").emitted >= emitted + 5; }, 30s));
    CHECK(ledger->seen_in(0, 500) == 24);
    CHECK(ledger->seen_in(25, 500) == 0);
  }

  TEST_CASE("a third consumer joining and one leaving mid-run lose nothing") {
    constexpr int k_partitions = 6;
    MockCluster kafka(2, {{"clicks", k_partitions}});
    auto ledger = std::make_shared<Ledger>(30'000);
    Config config = spout_config(kafka, "clicks", "g-rebalance");
    // Partitions are often paused at the cap when they are revoked: librdkafka keeps a pause
    // across a revoke and a new assignment, so the spout must lift it when it lets one go.
    config.set("kafka.max.uncommitted.offsets", 100);
    produce(kafka.bootstrap(), "clicks", numbered(0, 10'000));
    LocalRun two(topology(config, 2, ledger, 5), run_config());
    REQUIRE(eventually([&] { return ledger->seen_in(0, 10'000) > 1000; }, 30s));
    {
      LocalRun third(topology(config, 1, ledger, 5), run_config());
      produce(kafka.bootstrap(), "clicks", numbered(10'000, 20'000));
      // The third member got partitions and read some of them.
      CHECK(eventually([&] { return third.stats("kafka").acked > 0; }, 30s));
      CHECK(eventually([&] { return ledger->seen_in(10'000, 20'000) > 5000; }, 30s));
    }  // leaves the group
    produce(kafka.bootstrap(), "clicks", numbered(20'000, 30'000));
    CHECK(eventually([&] { return ledger->missing() == 0; }, 60s));
    CHECK(eventually([&] { return fully_committed(kafka, "g-rebalance", "clicks", k_partitions); },
                     30s, 200ms));
  }

  TEST_CASE("a broker unreachable at start is reported, and read from once it is up") {
    MockCluster kafka(1, {{"audit", 2}});
    produce(kafka.bootstrap(), "audit", numbered(0, 1000));
    kafka.command("down 1");
    auto ledger = std::make_shared<Ledger>(1000);
    LocalRun run(topology(spout_config(kafka, "audit", "g-late"), 2, ledger, 0), run_config());
    CHECK(eventually([&] { return run.stats("kafka").errors > 0; }, 30s));
    CHECK(run.stats("kafka").last_error.find("KafkaSpout: brokers " + kafka.bootstrap()) == 0);
    CHECK(ledger->seen_in(0, 1000) == 0);
    kafka.command("up 1");
    CHECK(eventually([&] { return ledger->missing() == 0; }, 60s));
    CHECK(eventually([&] { return fully_committed(kafka, "g-late", "audit", 2); }, 30s, 200ms));
  }

  TEST_CASE("a broker down mid-run is reported, and nothing is lost once it is back") {
    MockCluster kafka(1, {{"orders", 2}});
    auto ledger = std::make_shared<Ledger>(10'000);
    produce(kafka.bootstrap(), "orders", numbered(0, 5000));
    LocalRun run(topology(spout_config(kafka, "orders", "g-down"), 2, ledger, 5), run_config());
    REQUIRE(eventually([&] { return ledger->seen_in(0, 5000) > 100; }, 30s));
    const std::uint64_t errors_before = run.stats("kafka").errors;
    kafka.command("down 1");
    CHECK(eventually([&] { return run.stats("kafka").errors > errors_before; }, 30s));
    const std::string error = run.stats("kafka").last_error;
    CHECK(error.find("KafkaSpout: brokers " + kafka.bootstrap()) != std::string::npos);
    kafka.command("up 1");
    produce(kafka.bootstrap(), "orders", numbered(5000, 10'000));
    CHECK(eventually([&] { return ledger->missing() == 0; }, 60s));
    CHECK(eventually([&] { return fully_committed(kafka, "g-down", "orders", 2); }, 30s, 200ms));
  }
}
