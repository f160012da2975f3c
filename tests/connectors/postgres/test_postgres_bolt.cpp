#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gale/bolts/postgres_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/fixed_tuple_spout.hpp>
#include <gale/testing.hpp>

#include "bolts/postgres/statement.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/support.hpp"

// PostgresBolt against a real PostgreSQL server (PostgresServer starts one per test case on a free
// loopback port): rows committed before their inputs are acked, upserts, rejected rows, bad
// config, and a server that is down at start or restarted mid-run.

namespace {

using namespace gale;
using namespace std::chrono_literals;
using bolts::PostgresBolt;
using gale::testing::RunOptions;
using gale::testing::TrackedTopology;
using test::PostgresServer;

// What a RecordingSpout saw, shared with the test.
struct Ledger {
  std::mutex mutex;
  std::vector<int> acked;  // per record: times acked
  std::vector<int> failed;  // per record: times failed
  std::atomic<std::uint64_t> acks{0};
};

// Emits records [0, count) as (id, word, n) with message id = id; with `replay`, a failed record
// is emitted again, else only counted.
class RecordingSpout : public Spout {
 public:
  RecordingSpout(std::shared_ptr<Ledger> ledger, int count, bool replay, std::vector<Values> rows)
      : ledger_(std::move(ledger)), count_(count), replay_(replay), rows_(std::move(rows)) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"id", "word", "n"}); }
  void open(const Context& context, SpoutCollector& out) override {
    out_ = &out;
    const int tasks = static_cast<int>(context.component_tasks(context.component_id()).size());
    for (int i = count_ - 1; i >= 0; --i) {
      if (i % tasks == context.task_index()) todo_.push_back(i);
    }
  }
  void next_tuple() override {
    for (int k = 0; k < 16 && !todo_.empty(); ++k) {
      const int id = todo_.back();
      todo_.pop_back();
      Values row = rows_.empty() ? Values{id, "w" + std::to_string(id % 1000), id % 7}
                                 : rows_[static_cast<std::size_t>(id)];
      out_->emit(std::move(row), MessageId(id));
    }
  }
  void ack(const MessageId& id) override {
    std::lock_guard lock(ledger_->mutex);
    ++ledger_->acked[static_cast<std::size_t>(id.as_int())];
    ledger_->acks.fetch_add(1);
  }
  void fail(const MessageId& id) override {
    {
      std::lock_guard lock(ledger_->mutex);
      ++ledger_->failed[static_cast<std::size_t>(id.as_int())];
    }
    if (replay_) todo_.push_back(static_cast<int>(id.as_int()));
  }

 private:
  std::shared_ptr<Ledger> ledger_;
  int count_;
  bool replay_;
  std::vector<Values> rows_;  // explicit rows, or empty for the generated ones
  SpoutCollector* out_ = nullptr;
  std::vector<int> todo_;
};

// Forwards to the runtime's collector and counts report_error() calls, so a test can wait until
// the bolt has noticed an outage.
class CountingCollector : public BoltCollector {
 public:
  CountingCollector(BoltCollector& inner, std::shared_ptr<std::atomic<int>> reports)
      : inner_(inner), reports_(std::move(reports)) {}
  void ack(const Tuple& input) override { inner_.ack(input); }
  void fail(const Tuple& input) override { inner_.fail(input); }
  void report_error(std::string_view message) override {
    reports_->fetch_add(1);
    inner_.report_error(message);
  }

 protected:
  void do_emit(std::string_view stream, std::span<const Tuple> anchors, Values&& values,
               std::int32_t) override {
    inner_.emit_to(stream, anchors, std::move(values));
  }

 private:
  BoltCollector& inner_;
  std::shared_ptr<std::atomic<int>> reports_;
};

class ObservedPostgresBolt : public PostgresBolt {
 public:
  ObservedPostgresBolt(Config config, std::shared_ptr<std::atomic<int>> reports)
      : PostgresBolt(std::move(config)), reports_(std::move(reports)) {}
  void prepare(const Context& context, BoltCollector& out) override {
    counting_ = std::make_unique<CountingCollector>(out, reports_);
    PostgresBolt::prepare(context, *counting_);
  }
  void execute(const Tuple& input, BoltCollector&) override {
    PostgresBolt::execute(input, *counting_);
  }

 private:
  std::shared_ptr<std::atomic<int>> reports_;
  std::unique_ptr<CountingCollector> counting_;
};

Config sink_config(const PostgresServer& server) {
  Config c;
  c.set("postgres.conninfo", server.conninfo());
  c.set("postgres.table", "records");
  c.set("postgres.columns", "id, word, n");
  c.set("postgres.batch.size", 500);
  c.set("postgres.reconnect.backoff.initial.ms", 20);
  c.set("postgres.reconnect.backoff.max.ms", 200);
  return c;
}

std::shared_ptr<Ledger> make_ledger(int count) {
  auto ledger = std::make_shared<Ledger>();
  ledger->acked.assign(static_cast<std::size_t>(count), 0);
  ledger->failed.assign(static_cast<std::size_t>(count), 0);
  return ledger;
}

RunOptions real_time(std::chrono::seconds limit) {
  RunOptions o;
  o.simulated_time = false;
  o.wall_limit = limit;
  o.config.set(keys::topology_max_spout_pending, 2000);
  o.config.set(keys::topology_message_timeout_secs, 300);
  return o;
}

std::string build_error(const Config& config) {
  TopologyBuilder b;
  b.set_spout("records", make<spouts::FixedTupleSpout>(Fields{"id"}, std::vector<Values>{}), 1);
  b.set_bolt("sink", make<PostgresBolt>(config), 1).shuffle_grouping("records");
  try {
    (void)b.build();
  } catch (const TopologyError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("connector_postgres") {
  TEST_CASE("statements quote identifiers and carry one parameter per column and row") {
    using namespace bolts::postgres;
    CHECK(quote_identifier("we\"ird") == "\"we\"\"ird\"");
    CHECK(quote_identifier("app.words", true) == "\"app\".\"words\"");
    StatementShape shape{"app.words", {"word", "n"}, OnConflict::none, {}, ""};
    CHECK(insert_statement(shape, 2) ==
          "INSERT INTO \"app\".\"words\" (\"word\", \"n\") VALUES ($1, $2), ($3, $4)");
    shape.on_conflict = OnConflict::update;
    shape.conflict_columns = {"word"};
    CHECK(insert_statement(shape, 1) ==
          "INSERT INTO \"app\".\"words\" (\"word\", \"n\") VALUES ($1, $2) ON CONFLICT (\"word\") "
          "DO UPDATE SET \"n\" = EXCLUDED.\"n\"");
    shape.update_set = "n = words.n + EXCLUDED.n";
    CHECK(insert_statement(shape, 1).ends_with("DO UPDATE SET n = words.n + EXCLUDED.n"));
    shape.on_conflict = OnConflict::nothing;
    CHECK(insert_statement(shape, 1).ends_with("ON CONFLICT (\"word\") DO NOTHING"));
    CHECK(max_rows_per_statement(3) == 21845);
  }

  TEST_CASE("an invalid configuration fails the build naming the component and the key") {
    Config c;
    c.set("postgres.conninfo", "host=127.0.0.1");
    c.set("postgres.table", "t");
    CHECK(build_error(c) == "bolt 'sink': factory failed: PostgresBolt: config key "
                            "'postgres.columns' is required (the columns written, comma-separated)");
    c.set("postgres.columns", "a, b");
    c.set("postgres.fields", "x");
    CHECK(build_error(c).ends_with(
        "PostgresBolt: config key 'postgres.fields' names 1 fields for 2 columns"));
    c.erase("postgres.fields");
    c.set("postgres.mode", "upsert");
    CHECK(build_error(c).ends_with("config key 'postgres.conflict.columns' is required with "
                                   "postgres.mode = upsert"));
    c.set("postgres.conflict.columns", "c");
    CHECK(build_error(c).ends_with("'postgres.conflict.columns' names 'c', which is not in "
                                   "postgres.columns"));
    c.set("postgres.conflict.columns", "a");
    c.set("postgres.batch.sise", 10);
    CHECK(build_error(c).ends_with(
        "unknown config key 'postgres.batch.sise' (did you mean 'postgres.batch.size'?)"));
    c.erase("postgres.batch.sise");
    CHECK(build_error(c) == "");
  }

  TEST_CASE("100,000 records are committed, each acked once, none failed") {
    PostgresServer server;
    server.query("CREATE TABLE records (id bigint, word text, n integer)");
    constexpr int k_records = 100'000;
    auto ledger = make_ledger(k_records);
    TopologyBuilder b;
    b.set_spout("records", make<RecordingSpout>(ledger, k_records, true, std::vector<Values>{}),
                2);
    b.set_bolt("sink", make<PostgresBolt>(sink_config(server)), 2).shuffle_grouping("records");
    TrackedTopology run(b.build(), real_time(180s));
    run.run_to_completion();
    const auto counts = run.result().counts("sink");
    run.stop();
    CHECK(counts.acked == k_records);
    CHECK(counts.failed == 0);
    CHECK(server.scalar("SELECT count(*) FROM records") == k_records);
    CHECK(server.scalar("SELECT count(DISTINCT id) FROM records") == k_records);
    CHECK(server.scalar("SELECT count(*) FROM records WHERE word = 'w' || (id % 1000) AND "
                        "n = id % 7") == k_records);
    std::lock_guard lock(ledger->mutex);
    for (int i = 0; i < k_records; ++i) REQUIRE(ledger->acked[static_cast<std::size_t>(i)] == 1);
  }

  TEST_CASE("upserts apply every row of a batch in order, even rows with the same key") {
    PostgresServer server;
    server.query("CREATE TABLE words (word text PRIMARY KEY, n bigint)");
    constexpr int k_records = 3000;
    std::vector<Values> rows;
    for (int i = 0; i < k_records; ++i) rows.push_back({i, "w" + std::to_string(i % 10), 1});
    auto ledger = make_ledger(k_records);
    Config c = sink_config(server);
    c.set("postgres.table", "words");
    c.set("postgres.columns", "word, n");
    c.set("postgres.mode", "upsert");
    c.set("postgres.conflict.columns", "word");
    c.set("postgres.update.set", "n = words.n + EXCLUDED.n");
    TopologyBuilder b;
    b.set_spout("records", make<RecordingSpout>(ledger, k_records, false, rows), 1);
    b.set_bolt("sink", make<PostgresBolt>(c), 1).shuffle_grouping("records");
    TrackedTopology run(b.build(), real_time(60s));
    run.run_to_completion();
    CHECK(run.result().counts("sink").acked == k_records);
    run.stop();
    // Ten words, each seen 300 times, each time adding 1: a lost or merged row would show.
    CHECK(server.scalar("SELECT count(*) FROM words") == 10);
    CHECK(server.scalar("SELECT count(*) FROM words WHERE n = 300") == 10);
  }

  TEST_CASE("rows the server refuses are failed and reported; the rest of the batch commits") {
    PostgresServer server;
    server.query("CREATE TABLE records (id bigint, word text, n integer CHECK (n >= 0))");
    constexpr int k_records = 1000;
    std::vector<Values> rows;
    for (int i = 0; i < k_records; ++i) {
      if (i % 100 == 7) {
        rows.push_back({i, "bad", -1});  // breaks the CHECK constraint
      } else if (i % 100 == 8) {
        rows.push_back({i, "bad", "many"});  // not an integer
      } else if (i % 100 == 9) {
        rows.push_back({i, "bad", List{Value(1)}});  // no column takes a list
      } else {
        rows.push_back({i, "ok", i % 7});
      }
    }
    auto ledger = make_ledger(k_records);
    TopologyBuilder b;
    b.set_spout("records", make<RecordingSpout>(ledger, k_records, false, rows), 1);
    b.set_bolt("sink", make<PostgresBolt>(sink_config(server)), 1).shuffle_grouping("records");
    TrackedTopology run(b.build(), real_time(60s));
    run.run_to_completion();
    const auto counts = run.result().counts("sink");
    run.stop();
    CHECK(counts.acked == k_records - 30);
    CHECK(counts.failed == 30);
    CHECK(counts.errors > 0);
    CHECK(server.scalar("SELECT count(*) FROM records") == k_records - 30);
    CHECK(server.scalar("SELECT count(*) FROM records WHERE word = 'bad'") == 0);
    std::lock_guard lock(ledger->mutex);
    for (int i = 0; i < k_records; ++i) {
      const bool bad = i % 100 >= 7 && i % 100 <= 9;
      REQUIRE(ledger->failed[static_cast<std::size_t>(i)] == (bad ? 1 : 0));
      REQUIRE(ledger->acked[static_cast<std::size_t>(i)] == (bad ? 0 : 1));
    }
  }

  TEST_CASE("a tuple without a mapped field is failed and reported") {
    PostgresServer server;
    server.query("CREATE TABLE records (id bigint, word text, n integer)");
    Config c = sink_config(server);
    c.set("postgres.columns", "id, word, n");
    c.set("postgres.fields", "id, word, count");  // the spout has no field "count"
    auto ledger = make_ledger(10);
    TopologyBuilder b;
    b.set_spout("records", make<RecordingSpout>(ledger, 10, false, std::vector<Values>{}), 1);
    b.set_bolt("sink", make<PostgresBolt>(c), 1).shuffle_grouping("records");
    TrackedTopology run(b.build(), real_time(60s));
    run.run_to_completion();
    const auto counts = run.result().counts("sink");
    run.stop();
    CHECK(counts.failed == 10);
    CHECK(counts.errors > 0);
    CHECK(server.scalar("SELECT count(*) FROM records") == 0);
  }

  TEST_CASE("a server down at start: reported, retried, and every record lands once it is up") {
    PostgresServer server;
    server.query("CREATE TABLE records (id bigint, word text, n integer)");
    server.stop();
    constexpr int k_records = 5000;
    auto ledger = make_ledger(k_records);
    auto reports = std::make_shared<std::atomic<int>>(0);
    TopologyBuilder b;
    b.set_spout("records", make<RecordingSpout>(ledger, k_records, true, std::vector<Values>{}),
                1);
    b.set_bolt("sink", make<ObservedPostgresBolt>(sink_config(server), reports), 1)
        .shuffle_grouping("records");
    std::atomic<bool> restarted{false};
    std::thread restarter([&] {
      // Up again only once the bolt has reported that it cannot connect.
      test::wait_until([&] { return reports->load() > 0; }, 60s);
      server.start();
      restarted = true;
    });
    TrackedTopology run(b.build(), real_time(120s));
    run.run_to_completion();
    restarter.join();
    const auto counts = run.result().counts("sink");
    run.stop();
    CHECK(restarted);
    CHECK(counts.errors > 0);
    CHECK(counts.acked == k_records);
    CHECK(server.scalar("SELECT count(DISTINCT id) FROM records") == k_records);
  }

  TEST_CASE("a server restarted mid-run loses nothing") {
    PostgresServer server;
    server.query("CREATE TABLE records (id bigint, word text, n integer)");
    constexpr int k_records = 100'000;
    auto ledger = make_ledger(k_records);
    auto reports = std::make_shared<std::atomic<int>>(0);
    TopologyBuilder b;
    b.set_spout("records", make<RecordingSpout>(ledger, k_records, true, std::vector<Values>{}),
                2);
    b.set_bolt("sink", make<ObservedPostgresBolt>(sink_config(server), reports), 2)
        .shuffle_grouping("records");
    std::atomic<bool> restarted{false};
    std::thread restarter([&] {
      test::wait_until([&] { return ledger->acks.load() >= 20'000; }, 120s);
      server.stop();
      test::wait_until([&] { return reports->load() > 0; }, 60s);
      server.start();
      restarted = true;
    });
    TrackedTopology run(b.build(), real_time(240s));
    run.run_to_completion();
    restarter.join();
    const auto counts = run.result().counts("sink");
    run.stop();
    CHECK(restarted);
    CHECK(reports->load() > 0);
    CHECK(counts.errors > 0);
    CHECK(server.scalar("SELECT count(DISTINCT id) FROM records") == k_records);
    const std::int64_t duplicates = server.scalar("SELECT count(*) FROM records") - k_records;
    MESSAGE("rows written twice after the restart: " << duplicates);
    std::lock_guard lock(ledger->mutex);
    for (int i = 0; i < k_records; ++i) REQUIRE(ledger->acked[static_cast<std::size_t>(i)] >= 1);
  }
}
