#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gale/config.hpp>
#include <gale/errors.hpp>
#include <gale/value.hpp>

#include "cluster/assignment_file.hpp"
#include "cluster/local_cluster.hpp"
#include "cluster/protocol.hpp"
#include "common/clock.hpp"
#include "tests/support/support.hpp"
#include "worker/process/rate_window.hpp"
#include "worker/process/slot_runtime.hpp"
#include "worker/process/worker_process.hpp"

// The worker process without a plugin, sockets or real time: a fake slot runtime that records
// what the process asks of it, a manual clock, and a fake nimbus answering worker_heartbeat.

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using gale::Config;
using gale::List;
using gale::Map;
using gale::Value;
using gale::cluster::Assignment;
using gale::cluster::Reply;
using gale::worker::SlotSpec;
using gale::worker::StopReason;
using gale::worker::WorkerProcess;
using gale::worker::WorkerProcessOptions;

struct TempDir : gale::test::TempDir {
  TempDir() : gale::test::TempDir("gale-worker-process-test") {}
};

// What the process did to its runtime; outlives the runtime, which the process owns.
struct SlotRecord {
  int opened = 0;
  std::optional<SlotSpec> spec;
  bool started = false;
  bool active = true;  // spouts start active
  int activations = 0;
  int deactivations = 0;
  std::vector<std::int64_t> routed;   // versions passed to set_routes
  int fenced = 0;                     // fence_spouts() calls
  bool fenced_while_running = false;  // the last fence_spouts() came before any stop()
  std::int64_t peer_version = 0;      // what newest_peer_version() reports
  int heartbeats_started = 0;
  int heartbeats_confirmed = 0;
  int stops = 0;
  std::chrono::milliseconds drain{-1};
  std::chrono::milliseconds flush{-1};
  gale::worker::WorkerStats stats;
  std::vector<gale::worker::StuckExecutor> stuck;  // what check_progress() reports
  int progress_checks = 0;
};

// Thread: the test's.
class FakeSlot final : public gale::worker::SlotRuntime {
 public:
  FakeSlot(SlotRecord& record, Config config) : record_(record), config_(std::move(config)) {}
  const Config& config() const override { return config_; }
  std::string endpoint() const override { return "tcp://127.0.0.1:6700"; }
  void start() override { record_.started = true; }
  void activate() override {
    record_.active = true;
    ++record_.activations;
  }
  void deactivate() override {
    record_.active = false;
    ++record_.deactivations;
  }
  void set_routes(const Assignment& a) override { record_.routed.push_back(a.version); }
  void fence_spouts() override {
    ++record_.fenced;
    record_.fenced_while_running = record_.stops == 0;
  }
  std::int64_t newest_peer_version() const override { return record_.peer_version; }
  void heartbeat_started() override { ++record_.heartbeats_started; }
  void heartbeat_confirmed() override { ++record_.heartbeats_confirmed; }
  gale::worker::WorkerStats stats() const override { return record_.stats; }
  std::vector<gale::worker::StuckExecutor> check_progress() override {
    ++record_.progress_checks;
    return record_.stuck;
  }
  void stop(std::chrono::milliseconds drain, std::chrono::milliseconds flush) override {
    ++record_.stops;
    record_.drain = drain;
    record_.flush = flush;
  }

 private:
  SlotRecord& record_;
  const Config config_;
};

// The topology "wc-1": this slot (sup-1, 127.0.0.1:6700) hosts tasks 1 and 2, a peer 3 and 4.
Assignment assignment(std::int64_t version, std::vector<std::int32_t> mine = {1, 2},
                      std::int64_t peer_port = 6701) {
  Assignment a;
  a.topology_id = "wc-1";
  a.version = version;
  if (!mine.empty()) a.workers.push_back({"sup-1", "127.0.0.1", 6700, std::move(mine)});
  a.workers.push_back({"sup-2", "127.0.0.2", peer_port, {3, 4}});
  return a;
}

// Plays nimbus's side of worker_heartbeat.
struct FakeNimbus {
  bool answer = true;      // false: no reply in time
  bool malformed = false;  // the reply does not decode (the RPC client throws)
  std::optional<std::string> error;
  std::string status = "active";
  Assignment current = assignment(1);
  std::vector<Map> heartbeats;  // every request body, answered or not

  std::optional<Reply> operator()(std::string_view verb, const Map& body) {
    REQUIRE(verb == "worker_heartbeat");
    heartbeats.push_back(body);
    if (!answer) return std::nullopt;
    if (malformed) throw gale::cluster::ProtocolError("reply: not msgpack");
    Reply r;
    if (error) {
      r.error = *error;
      return r;
    }
    r.ok = true;
    r.body["status"] = status;
    r.body["version"] = current.version;
    r.body["assignment"] = Value(current.to_map());
    return r;
  }
};

struct Fixture {
  TempDir dir;
  gale::common::ManualClock clock;
  FakeNimbus nimbus;
  SlotRecord slot;
  bool open_fails = false;
  std::unique_ptr<WorkerProcess> process;

  explicit Fixture(const std::string& file_status = "active", Assignment file = assignment(1),
                   std::string supervisor = "sup-1", Config config = {},
                   std::chrono::milliseconds peer_version_check = 10s) {
    config.set("worker.heartbeat.frequency.secs", Value(2.0));
    gale::cluster::write_assignment_file(dir.path / "assignment.msgpack", file, config,
                                         file_status);
    WorkerProcessOptions o;
    o.nimbus = "127.0.0.1:6627";
    o.supervisor = std::move(supervisor);
    o.host = "127.0.0.1";
    o.port = 6700;
    o.dir = dir.path;
    o.plugin = "/plugins/wc.so";
    o.drain_on_stop = 2000ms;
    o.drain_on_reassign = 1000ms;
    o.transport_flush = 700ms;
    // By default longer than the heartbeat period: waits end at heartbeats.
    o.peer_version_check = peer_version_check;
    process = std::make_unique<WorkerProcess>(
        o, [this](std::string_view verb, const Map& body) { return nimbus(verb, body); }, clock,
        [this](const SlotSpec& spec) -> std::unique_ptr<gale::worker::SlotRuntime> {
          ++slot.opened;
          if (open_fails) throw gale::Error("cannot bind tcp://127.0.0.1:6700");
          slot.spec = spec;
          return std::make_unique<FakeSlot>(slot, spec.config);
        });
  }
  std::size_t beats() const { return nimbus.heartbeats.size(); }
  const Map& last_beat() const { return nimbus.heartbeats.back(); }
  // Moves the clock by `by` and ticks; returns what tick() returned.
  bool advance_and_tick(std::chrono::milliseconds by) {
    clock.advance(by);
    return process->tick();
  }
};

std::int64_t get_int(const Map& m, const std::string& key) {
  return gale::cluster::get_int(m, key);
}

gale::worker::ComponentStats spout_stats(std::uint64_t emitted) {
  gale::worker::ComponentStats c;
  c.component = "sentences";
  c.is_spout = true;
  c.tasks = 1;
  c.emitted = emitted;
  return c;
}

}  // namespace

TEST_SUITE("worker_process") {
  TEST_CASE("start runs this slot's tasks with the file's config and status") {
    Fixture f;
    f.process->start();
    REQUIRE(f.slot.spec.has_value());
    CHECK(f.slot.started);
    CHECK(f.slot.spec->tasks == std::vector<std::int32_t>{1, 2});
    CHECK(f.slot.spec->plugin_path == "/plugins/wc.so");
    CHECK(f.slot.spec->assignment == assignment(1));
    CHECK(f.slot.spec->port == 6700);
    CHECK(f.process->running());
    CHECK(f.process->heartbeat_period() == 2s);  // from the file's config
    CHECK(f.process->status() == "active");
    CHECK(f.slot.deactivations == 0);
    CHECK_FALSE(f.process->stop_reason().has_value());
  }

  TEST_CASE("a slot found by host and port when the supervisor id is spelled differently") {
    Fixture f("active", assignment(1), "sup-1-renamed");
    f.process->start();
    REQUIRE(f.slot.spec.has_value());
    CHECK(f.slot.spec->tasks == std::vector<std::int32_t>{1, 2});
  }

  TEST_CASE("a file that starts the topology inactive starts the spouts deactivated") {
    Fixture f("inactive");
    f.process->start();
    CHECK_FALSE(f.slot.active);
    CHECK(f.slot.deactivations == 1);
    CHECK(f.process->status() == "inactive");
  }

  TEST_CASE("start fails with a precise error and runs nothing") {
    SUBCASE("the assignment gives this slot no tasks") {
      Fixture f("active", assignment(4, {}));
      CHECK_THROWS_WITH_AS(f.process->start(),
                           "slot sup-1 127.0.0.1:6700 has no tasks in assignment version 4 of "
                           "topology wc-1",
                           gale::Error);
      CHECK(f.slot.opened == 0);
    }
    SUBCASE("the runtime cannot be built") {
      Fixture f;
      f.open_fails = true;
      CHECK_THROWS_WITH_AS(f.process->start(), "cannot bind tcp://127.0.0.1:6700", gale::Error);
    }
    SUBCASE("the assignment file is missing") {
      Fixture f;
      fs::remove(f.dir.path / "assignment.msgpack");
      CHECK_THROWS_AS(f.process->start(), gale::Error);
      CHECK(f.slot.opened == 0);
    }
  }

  TEST_CASE("run ticks between the owner's waits until the owner stops or the process ends") {
    SUBCASE("the owner stops it") {
      Fixture f;
      f.process->start();
      std::vector<std::chrono::nanoseconds> waits;
      f.process->run([&](std::chrono::nanoseconds until_heartbeat) {
        waits.push_back(until_heartbeat);
        if (waits.size() == 3) {
          f.clock.advance(until_heartbeat / 2);  // a signal comes halfway through the third wait
          return true;
        }
        f.clock.advance(until_heartbeat);  // the wait ends at the next heartbeat
        return false;
      });
      CHECK(waits == std::vector<std::chrono::nanoseconds>{2s, 2s, 2s});
      CHECK(f.beats() == 3);
      CHECK(f.process->running());  // run() leaves stop() to the owner
      CHECK_FALSE(f.process->stop_reason().has_value());
    }
    SUBCASE("a signal that finds a heartbeat due lets it go first, which may fence the spouts") {
      Fixture f;
      f.process->start();
      int waits = 0;
      f.process->run([&](std::chrono::nanoseconds until_heartbeat) {
        ++waits;
        f.clock.advance(until_heartbeat);
        if (waits == 1) f.nimbus.current = assignment(2, {1});  // this slot's tasks changed
        return true;  // e.g. the supervisor's SIGTERM, with the heartbeat overdue
      });
      CHECK(waits == 1);
      CHECK(f.beats() == 2);
      CHECK(f.slot.fenced == 1);
      CHECK(f.process->stop_reason() == StopReason::reassigned);
    }
    SUBCASE("nimbus drops the topology") {
      Fixture f;
      f.process->start();
      f.nimbus.error = "unknown topology 'wc-1'";
      int waits = 0;
      f.process->run([&](std::chrono::nanoseconds) {
        ++waits;
        return false;
      });
      CHECK(waits == 0);
      CHECK(f.beats() == 1);
      CHECK(f.process->stop_reason() == gale::worker::StopReason::topology_gone);
    }
  }

  TEST_CASE("heartbeats go out at the configured period and a late one causes no burst") {
    Fixture f;
    f.process->start();
    CHECK(f.process->until_next_heartbeat() == 0ns);  // the first is due at once
    CHECK(f.process->tick());
    CHECK(f.beats() == 1);
    CHECK(fs::exists(f.dir.path / "heartbeat"));
    CHECK(f.process->tick());  // not due again
    CHECK(f.beats() == 1);
    CHECK(f.process->until_next_heartbeat() == 2s);

    CHECK(f.advance_and_tick(1999ms));
    CHECK(f.beats() == 1);
    CHECK(f.process->until_next_heartbeat() == 1ms);
    CHECK(f.advance_and_tick(1ms));
    CHECK(f.beats() == 2);
    CHECK(f.advance_and_tick(2s));
    CHECK(f.beats() == 3);

    // The supervisor watches this file: every heartbeat rewrites it.
    fs::remove(f.dir.path / "heartbeat");
    CHECK(f.advance_and_tick(2s));
    CHECK(f.beats() == 4);
    CHECK(fs::exists(f.dir.path / "heartbeat"));

    // Stalled for ten periods: at most one heartbeat to catch up, then the period again.
    f.clock.advance(20s);
    for (int i = 0; i < 10; ++i) CHECK(f.process->tick());
    CHECK(f.beats() >= 5);
    CHECK(f.beats() <= 6);
    const std::size_t after_stall = f.beats();
    CHECK(f.process->until_next_heartbeat() == 2s);
    CHECK(f.advance_and_tick(2s));
    CHECK(f.beats() == after_stall + 1);
  }

  TEST_CASE("a heartbeat says where the worker runs, its uptime and its rates by the clock") {
    Fixture f;
    f.slot.stats.components = {spout_stats(100)};
    f.process->start();
    CHECK(f.process->tick());
    const Map& first = f.last_beat();
    CHECK(gale::cluster::get_string(first, "topology_id") == "wc-1");
    CHECK(gale::cluster::get_string(first, "supervisor") == "sup-1");
    CHECK(gale::cluster::get_string(first, "host") == "127.0.0.1");
    CHECK(get_int(first, "port") == 6700);
    CHECK(get_int(first, "version") == 1);
    CHECK(get_int(first, "uptime_secs") == 0);
    const Map& spout = gale::cluster::get_map(gale::cluster::get_map(first, "stats"), "sentences");
    CHECK(gale::cluster::get_string(spout, "kind") == "spout");
    CHECK(get_int(spout, "emitted") == 100);
    CHECK(get_int(spout, "emitted_per_s") == 0);  // no interval yet

    f.slot.stats.components = {spout_stats(1100)};
    CHECK(f.advance_and_tick(2s));
    const Map& second = f.last_beat();
    CHECK(get_int(second, "uptime_secs") == 2);
    const Map& later = gale::cluster::get_map(gale::cluster::get_map(second, "stats"), "sentences");
    CHECK(get_int(later, "emitted") == 1100);
    CHECK(get_int(later, "emitted_per_s") == 500);  // 1000 more in 2 s of the manual clock
  }

  TEST_CASE("a newer assignment that keeps this slot's tasks re-routes to the moved peers") {
    Fixture f;
    f.process->start();
    CHECK(f.process->tick());
    CHECK(f.slot.routed.empty());  // the same version as the file's

    f.nimbus.current = assignment(2, {1, 2}, 6702);  // the peer moved
    CHECK(f.advance_and_tick(2s));
    CHECK(f.slot.routed == std::vector<std::int64_t>{2});
    CHECK(f.process->assignment() == assignment(2, {1, 2}, 6702));
    CHECK(f.process->running());

    // Reported from the next heartbeat on; the same version is not routed twice.
    CHECK(f.advance_and_tick(2s));
    CHECK(get_int(f.last_beat(), "version") == 2);
    CHECK(f.slot.routed.size() == 1);

    SUBCASE("an older version is ignored") {
      f.nimbus.current = assignment(1, {1}, 6703);
      CHECK(f.advance_and_tick(2s));
      CHECK(f.slot.routed.size() == 1);
      CHECK(f.process->assignment().version == 2);
    }
    SUBCASE("another topology's assignment is ignored") {
      Assignment other = assignment(9, {1}, 6703);
      other.topology_id = "other-7";
      f.nimbus.current = other;
      CHECK(f.advance_and_tick(2s));
      CHECK(f.slot.routed.size() == 1);
      CHECK(f.process->running());
    }
    CHECK(f.slot.stops == 0);
  }

  TEST_CASE("a newer assignment that changes this slot's tasks ends it for a restart") {
    Fixture f;
    f.process->start();
    CHECK(f.process->tick());
    SUBCASE("other tasks") { f.nimbus.current = assignment(3, {1}); }
    SUBCASE("the slot is gone") { f.nimbus.current = assignment(3, {}); }
    CHECK_FALSE(f.advance_and_tick(2s));
    CHECK(f.process->stop_reason() == StopReason::reassigned);
    CHECK(f.slot.routed.empty());
    CHECK(f.slot.stops == 0);  // the owner stops it
    // Superseded: the spouts were fenced at once, long before the owner's stop.
    CHECK(f.slot.fenced == 1);
    CHECK(f.slot.fenced_while_running);
    // The runtime is told around each heartbeat (a receiver holding after a stall goes on then).
    CHECK(f.slot.heartbeats_started == 2);
    CHECK(f.slot.heartbeats_confirmed == 2);

    const std::size_t beats = f.beats();
    CHECK_FALSE(f.advance_and_tick(2s));  // no more heartbeats
    CHECK(f.beats() == beats);
    f.process->stop();
    CHECK(f.slot.stops == 1);
    CHECK(f.slot.drain == 1000ms);  // drain_on_reassign
    CHECK(f.slot.flush == 700ms);
    CHECK(f.process->stop_reason() == StopReason::reassigned);
  }

  TEST_CASE("a slot runs with the tenure its assignment gives it; a re-route fences nothing") {
    Assignment file = assignment(3);
    file.workers[0].since = 2;
    Fixture f("active", file);
    f.process->start();
    REQUIRE(f.slot.spec.has_value());
    CHECK(f.slot.spec->tenure == 2);
    f.nimbus.current = assignment(4, {1, 2}, 6702);
    CHECK(f.advance_and_tick(2s));
    CHECK(f.slot.routed == std::vector<std::int64_t>{4});
    CHECK(f.slot.fenced == 0);
  }

  TEST_CASE("a peer on a newer assignment version brings the next heartbeat forward, once") {
    Fixture f;
    f.process->start();
    CHECK(f.process->tick());
    REQUIRE(f.beats() == 1);
    CHECK(f.advance_and_tick(100ms));
    CHECK(f.beats() == 1);  // not due, and no peer runs a newer version

    f.slot.peer_version = 2;  // a batch stamped with version 2 came in
    f.nimbus.current = assignment(2, {1, 2}, 6702);
    CHECK(f.advance_and_tick(100ms));
    CHECK(f.beats() == 2);
    CHECK(f.slot.routed == std::vector<std::int64_t>{2});
    CHECK(f.advance_and_tick(100ms));
    CHECK(f.beats() == 2);  // caught up: the regular schedule goes on
    CHECK(f.advance_and_tick(1700ms));
    CHECK(f.beats() == 3);  // due 2 s after the first

    SUBCASE("a superseded worker learns it from the early heartbeat and fences its spouts") {
      f.slot.peer_version = 3;
      f.nimbus.current = assignment(3, {1});
      CHECK_FALSE(f.advance_and_tick(100ms));
      CHECK(f.beats() == 4);
      CHECK(f.slot.fenced == 1);
      CHECK(f.process->stop_reason() == StopReason::reassigned);
    }
    SUBCASE("while nimbus does not answer, one early heartbeat per version, then the schedule") {
      f.slot.peer_version = 3;
      f.nimbus.answer = false;
      CHECK(f.advance_and_tick(100ms));
      CHECK(f.beats() == 4);
      CHECK(f.advance_and_tick(100ms));
      CHECK(f.beats() == 4);
      CHECK(f.process->running());  // nimbus down: it runs on with what it has
      CHECK(f.slot.fenced == 0);
    }
  }

  TEST_CASE("run waits at most peer_version_check between ticks, so a newer peer is noticed") {
    Fixture f("active", assignment(1), "sup-1", {}, 300ms);
    f.process->start();
    std::vector<std::chrono::nanoseconds> waits;
    f.process->run([&](std::chrono::nanoseconds wait) {
      waits.push_back(wait);
      f.clock.advance(wait);
      if (waits.size() == 2) f.slot.peer_version = 2;
      return waits.size() == 4;
    });
    CHECK(waits == std::vector<std::chrono::nanoseconds>{300ms, 300ms, 300ms, 300ms});
    CHECK(f.beats() == 2);  // the first, and the early one after the second wait
  }

  TEST_CASE("killed: spouts stop at once, in-flight work goes on until nimbus drops the topology") {
    Fixture f;
    f.process->start();
    CHECK(f.process->tick());
    f.nimbus.status = "killed";
    CHECK(f.advance_and_tick(2s));
    CHECK_FALSE(f.slot.active);
    CHECK(f.process->status() == "inactive");
    CHECK(f.slot.stops == 0);
    CHECK(f.advance_and_tick(2s));  // still heartbeating while the kill waits
    CHECK(f.beats() == 3);
    CHECK(f.slot.deactivations == 1);

    f.nimbus.error = "unknown topology 'wc-1'";
    CHECK_FALSE(f.advance_and_tick(2s));
    CHECK(f.process->stop_reason() == StopReason::topology_gone);
    CHECK_FALSE(f.process->running());
    f.process->stop();
    CHECK(f.slot.stops == 1);
    CHECK(f.slot.drain == 2000ms);  // drain_on_stop
  }

  TEST_CASE("the spouts follow the status: inactive and rebalancing deactivate, active resumes") {
    Fixture f;
    f.process->start();
    f.nimbus.status = "inactive";
    CHECK(f.process->tick());
    CHECK_FALSE(f.slot.active);
    CHECK(f.slot.deactivations == 1);
    CHECK(f.advance_and_tick(2s));  // unchanged: nothing to do
    CHECK(f.slot.deactivations == 1);

    f.nimbus.status = "active";
    CHECK(f.advance_and_tick(2s));
    CHECK(f.slot.active);
    CHECK(f.slot.activations == 1);
    CHECK(f.process->status() == "active");

    f.nimbus.status = "rebalancing";
    CHECK(f.advance_and_tick(2s));
    CHECK_FALSE(f.slot.active);
    CHECK(f.process->status() == "rebalancing");

    f.nimbus.status = "active";
    CHECK(f.advance_and_tick(2s));
    CHECK(f.slot.active);
    CHECK(f.slot.activations == 2);
    CHECK(f.slot.stops == 0);
  }

  TEST_CASE("while nimbus does not answer the worker runs on and keeps heartbeating") {
    Fixture f;
    f.process->start();
    CHECK(f.process->tick());
    CHECK(f.process->nimbus_reachable());

    SUBCASE("no reply") { f.nimbus.answer = false; }
    SUBCASE("a reply that does not decode") { f.nimbus.malformed = true; }
    for (int i = 0; i < 5; ++i) CHECK(f.advance_and_tick(2s));
    CHECK(f.beats() == 6);  // still at the period
    CHECK_FALSE(f.process->nimbus_reachable());
    CHECK(f.process->running());
    CHECK(f.slot.active);
    CHECK(f.slot.stops == 0);
    fs::remove(f.dir.path / "heartbeat");
    CHECK(f.advance_and_tick(2s));
    CHECK(fs::exists(f.dir.path / "heartbeat"));  // the supervisor still sees it alive

    // Back: its replies are followed again.
    f.nimbus.answer = true;
    f.nimbus.malformed = false;
    f.nimbus.status = "inactive";
    f.nimbus.current = assignment(2, {1, 2}, 6702);
    CHECK(f.advance_and_tick(2s));
    CHECK(f.process->nimbus_reachable());
    CHECK_FALSE(f.slot.active);
    CHECK(f.slot.routed == std::vector<std::int64_t>{2});
  }

  TEST_CASE("only a heartbeat nimbus answered and the worker followed is confirmed to the slot") {
    // A worker holding after a stall goes on at a confirmed heartbeat (or its cap): a heartbeat
    // that timed out, or got an error or a malformed reply, must not release it, or a superseded
    // worker whose nimbus answers late acts beside its replacement.
    Fixture f;
    f.process->start();
    CHECK(f.process->tick());
    CHECK(f.slot.heartbeats_started == 1);
    CHECK(f.slot.heartbeats_confirmed == 1);
    SUBCASE("no reply in time") { f.nimbus.answer = false; }
    SUBCASE("an error reply") { f.nimbus.error = "not the leader"; }
    SUBCASE("a reply that does not decode") { f.nimbus.malformed = true; }
    CHECK(f.advance_and_tick(2s));
    CHECK(f.advance_and_tick(2s));
    CHECK(f.slot.heartbeats_started == 3);
    CHECK(f.slot.heartbeats_confirmed == 1);

    f.nimbus.answer = true;
    f.nimbus.error.reset();
    f.nimbus.malformed = false;
    CHECK(f.advance_and_tick(2s));
    CHECK(f.slot.heartbeats_started == 4);
    CHECK(f.slot.heartbeats_confirmed == 2);
  }

  TEST_CASE("nimbus errors other than an unknown topology and malformed bodies change nothing") {
    Fixture f;
    f.process->start();
    CHECK(f.process->tick());
    SUBCASE("an error reply") { f.nimbus.error = "not the leader"; }
    SUBCASE("an unknown status") { f.nimbus.status = "sleeping"; }
    f.nimbus.current = assignment(5, {1});  // would end it, were the reply followed
    CHECK(f.advance_and_tick(2s));
    CHECK(f.advance_and_tick(2s));
    CHECK(f.process->running());
    CHECK(f.slot.active);
    CHECK(f.process->assignment().version == 1);
    CHECK_FALSE(f.process->stop_reason().has_value());
  }

  TEST_CASE("stop() drains once, refuses further ticks, and the destructor stops a running one") {
    SUBCASE("stop()") {
      Fixture f;
      f.process->start();
      CHECK(f.process->tick());
      f.process->stop();
      CHECK(f.process->stop_reason() == StopReason::requested);
      CHECK(f.slot.stops == 1);
      CHECK(f.slot.drain == 2000ms);
      CHECK(f.slot.flush == 700ms);
      CHECK_FALSE(f.advance_and_tick(2s));
      CHECK(f.beats() == 1);
      f.process->stop();
      f.process.reset();
      CHECK(f.slot.stops == 1);
    }
    SUBCASE("the destructor") {
      Fixture f;
      f.process->start();
      f.process.reset();
      CHECK(f.slot.stops == 1);
    }
    SUBCASE("never started: nothing to stop") {
      Fixture f;
      f.process->stop();
      CHECK_FALSE(f.process->tick());
      CHECK(f.beats() == 0);
      CHECK(f.slot.opened == 0);
    }
  }

  TEST_CASE("a stuck executor rides the heartbeat; under restart the process ends, runtime alone") {
    Fixture f;
    gale::worker::ComponentStats count;
    count.component = "count";
    count.tasks = 2;
    f.slot.stats.components.push_back(count);
    f.process->start();
    CHECK(f.process->tick());
    CHECK(f.slot.progress_checks == 1);
    CHECK_FALSE(gale::cluster::get_map(gale::cluster::get_map(f.last_beat(), "stats"), "count")
                    .count("stuck"));
    f.slot.stuck.push_back({"count", "bolt", {3, 4}, 61, 1200, "execute()"});
    CHECK_FALSE(f.advance_and_tick(2s));
    CHECK(f.process->stop_reason() == StopReason::stuck);
    CHECK(f.process->stuck_reason() ==
          "executor of bolt 'count' (tasks 3,4) stuck for 61 s inside execute()");
    // The last heartbeat told nimbus first.
    const Map& stats =
        gale::cluster::get_map(gale::cluster::get_map(f.last_beat(), "stats"), "count");
    const List& stuck = gale::cluster::get_list(stats, "stuck");
    REQUIRE(stuck.size() == 1);
    CHECK(gale::cluster::get_int(stuck[0].as_map(), "secs") == 61);
    CHECK(gale::cluster::get_int(stuck[0].as_map(), "queued") == 1200);
    CHECK(gale::cluster::get_string(stuck[0].as_map(), "inside") == "execute()");
    // The stuck thread cannot be joined: stop() leaves the runtime alone.
    f.process->stop();
    f.process.reset();
    CHECK(f.slot.stops == 0);
  }

  TEST_CASE("under topology.executor.stuck.policy = report a stuck executor is only reported") {
    Config config;
    config.set(gale::keys::topology_executor_stuck_policy, Value("report"));
    Fixture f("active", assignment(1), "sup-1", config);
    gale::worker::ComponentStats count;
    count.component = "count";
    f.slot.stats.components.push_back(count);
    f.slot.stuck.push_back({"count", "bolt", {3}, 5, 0, "execute()"});
    f.process->start();
    CHECK(f.process->tick());
    CHECK(f.advance_and_tick(2s));
    CHECK(f.process->running());
    const Map& stats =
        gale::cluster::get_map(gale::cluster::get_map(f.last_beat(), "stats"), "count");
    CHECK(gale::cluster::get_list(stats, "stuck").size() == 1);
    f.slot.stuck.clear();
    CHECK(f.advance_and_tick(2s));
    CHECK_FALSE(gale::cluster::get_map(gale::cluster::get_map(f.last_beat(), "stats"), "count")
                    .count("stuck"));
    f.process->stop();
    CHECK(f.slot.stops == 1);
  }

  TEST_CASE("rates are per second of the given times") {
    gale::worker::RateWindow rates;
    const std::int64_t t0 = 1'000'000'000'000;
    CHECK(rates.rate("a", 100, t0) == 0);  // first reading
    CHECK(rates.rate("a", 1100, t0 + 2'000'000'000) == 500);
    CHECK(rates.rate("b", 7, t0 + 2'000'000'000) == 0);     // per key
    CHECK(rates.rate("a", 1100, t0 + 2'000'000'000) == 0);  // no time passed
    CHECK(rates.rate("a", 50, t0 + 3'000'000'000) == 0);    // went down (a restart)
    CHECK(rates.rate("a", 51, t0 + 3'500'000'000) == 2);    // 1 in 0.5 s
  }
}

// The real `gale worker` on a plugin whose bolt cannot prepare: it exits with its own status
// (4, k_worker_exit_init_failed) at once, the error in its log, so the supervisor restarts it.
TEST_SUITE("worker_process") {
  TEST_CASE("gale worker exits with status 4 when a component fails to initialise") {
    const std::string plugins = GALE_TEST_PLUGIN_DIR;
    TempDir dir;
    Assignment a;
    a.topology_id = "broken-1";
    a.version = 1;
    const int port = gale::cluster::free_port();
    // failing_init_plugin: broken x2 (tasks 1, 2), numbers (3), an acker (4).
    a.workers.push_back({"sup-1", "127.0.0.1", port, {1, 2, 3, 4}});
    gale::cluster::write_assignment_file(dir.path / "assignment.msgpack", a, Config{}, "active");
    // Nimbus is not needed before the first heartbeat: nobody listens on its port.
    const auto r = gale::cluster::run_program(
        {plugins + "/../../cli/gale", "worker", "--nimbus",
         "127.0.0.1:" + std::to_string(gale::cluster::free_port()), "--supervisor", "sup-1",
         "--host", "127.0.0.1", "--port", std::to_string(port), "--dir", dir.path.string(),
         "--plugin", plugins + "/failing_init_plugin.so"},
        60s);
    INFO(r.output);
    CHECK(r.exit_code == 4);
    std::ifstream log(dir.path / "worker.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    CHECK(text.find("bolt 'broken' task 1: prepare() threw: cannot open the model file") !=
          std::string::npos);
    CHECK(text.find("exiting with status 4") != std::string::npos);
  }
}
