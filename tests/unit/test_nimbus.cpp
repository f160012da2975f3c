#include <doctest/doctest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include <gale/config.hpp>

#include "cluster/protocol.hpp"
#include "cluster/rpc.hpp"
#include "common/clock.hpp"
#include "nimbus/daemon.hpp"
#include "nimbus/nimbus.hpp"
#include "nimbus/scheduler.hpp"
#include "nimbus/state.hpp"
#include "tests/support/support.hpp"
#include "wire/codec.hpp"

// Nimbus without sockets: the scheduler as a pure function, the state store through a real
// directory, and the request handlers through handle() with a manual clock.

namespace {

namespace fs = std::filesystem;
using gale::Bytes;
using gale::List;
using gale::Map;
using gale::Value;
using gale::cluster::Assignment;
using gale::cluster::Reply;
using gale::cluster::TopologyStatus;
using gale::cluster::WorkerAssignment;
using namespace gale::nimbus;
using gale::test::free_port;

std::shared_ptr<spdlog::logger> quiet_logger() {
  return std::make_shared<spdlog::logger>("nimbus-test",
                                          std::make_shared<spdlog::sinks::null_sink_mt>());
}

// A log sink that holds the logging thread at the first line containing `hold` until a line
// containing `release` is logged (by another thread). Not a base_sink: that would hold its mutex
// while waiting, and the releasing line could never be logged.
class GateSink final : public spdlog::sinks::sink {
 public:
  GateSink(std::string hold, std::string release)
      : hold_(std::move(hold)), release_(std::move(release)) {}
  void log(const spdlog::details::log_msg& msg) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    std::unique_lock lock(mutex_);
    if (text.find(release_) != std::string_view::npos) {
      released_ = true;
      changed_.notify_all();
    } else if (!held_ && text.find(hold_) != std::string_view::npos) {
      held_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
    }
  }
  void flush() override {}
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}
  // Whether a thread reached the `hold` line (false after a generous 30 s: the test failed).
  bool wait_until_held() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [this] { return held_; });
  }
  bool released() {
    std::lock_guard lock(mutex_);
    return released_;
  }

 private:
  const std::string hold_;
  const std::string release_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool released_ = false;
};

// A fresh directory removed at the end of the test.
struct TempDir : gale::test::TempDir {
  TempDir() : gale::test::TempDir("gale-nimbus-test") {}
};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Bytes good_plugin() {
  const std::string bytes = read_bytes(std::string(GALE_TEST_PLUGIN_DIR) + "/good_plugin.so");
  REQUIRE(bytes.size() > 1000);
  return Bytes(bytes.begin(), bytes.end());
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A nimbus over a temporary state directory, driven by a manual clock.
struct Fixture {
  TempDir dir;
  gale::common::ManualClock clock;
  std::unique_ptr<Nimbus> nimbus;
  std::int64_t timeout_secs = 3;

  Fixture() { restart(); }

  void restart() {
    nimbus.reset();
    NimbusOptions options;
    options.state_dir = dir.path;
    options.config.set(keys::supervisor_timeout_secs, timeout_secs);
    nimbus = std::make_unique<Nimbus>(options, clock, quiet_logger());
  }

  Reply call(const std::string& verb, const Map& body) {
    return gale::cluster::decode_reply(nimbus->handle(gale::cluster::encode_request(verb, body)));
  }

  Reply heartbeat(const std::string& supervisor, std::vector<std::int64_t> ports) {
    List list(ports.begin(), ports.end());
    return call("supervisor_heartbeat", Map{{"supervisor", supervisor},
                                            {"host", "host-" + supervisor},
                                            {"ports", std::move(list)},
                                            {"workers", List{}}});
  }

  Reply submit(const std::string& name, Map config = {}) {
    return call("submit", Map{{"name", name}, {"plugin", good_plugin()}, {"config", config}});
  }

  void advance_secs(int secs) { clock.advance(std::chrono::seconds(secs)); }

  // Submits good_plugin as `name` over supervisor s1 (slots 7001, 7002); returns its id.
  std::string submit_on_s1(const std::string& name) {
    REQUIRE(heartbeat("s1", {7001, 7002}).ok);
    Reply r = submit(name);
    REQUIRE_MESSAGE(r.ok, r.error);
    return gale::cluster::get_string(r.body, "topology_id");
  }
};

// One entry of a supervisor heartbeat's `workers`.
Value slot_report(std::int64_t port, const std::string& topology, bool running, std::int64_t pid,
                  std::int64_t uptime_secs = 0, std::int64_t restarts = 0,
                  const std::string& last_exit = "", const std::string& last_error = "") {
  return Value(Map{{"port", port},
                   {"topology_id", topology},
                   {"version", 1},
                   {"pid", running ? pid : 0},
                   {"running", running},
                   {"restarts", restarts},
                   {"last_exit", last_exit},
                   {"last_error", last_error},
                   {"uptime_secs", uptime_secs}});
}

// A worker heartbeat body from slot s1:`port` whose spout `numbers` emitted `emitted` tuples.
Map worker_beat(const std::string& topology, std::int64_t port, std::int64_t pid,
                std::int64_t uptime_secs, std::int64_t emitted) {
  const Map numbers{{"kind", "spout"},  {"tasks", 1},          {"emitted", emitted},
                    {"acked", emitted}, {"failed", 0},         {"executed", 0},
                    {"errors", 0},      {"emitted_per_s", 50}, {"executed_per_s", 0}};
  return Map{{"topology_id", topology},
             {"supervisor", "s1"},
             {"host", "host-s1"},
             {"port", port},
             {"version", 1},
             {"pid", pid},
             {"uptime_secs", uptime_secs},
             {"stats", Map{{"numbers", Value(numbers)}}},
             {"last_error", ""}};
}

std::vector<std::int32_t> all_tasks(const Assignment& a) {
  std::vector<std::int32_t> tasks;
  for (const auto& w : a.workers) tasks.insert(tasks.end(), w.tasks.begin(), w.tasks.end());
  std::sort(tasks.begin(), tasks.end());
  return tasks;
}

}  // namespace

TEST_SUITE("nimbus") {
  TEST_CASE("spread_slots takes the supervisor with most free slots first, then round-robin") {
    std::vector<SupervisorSlots> free{
        {"b", "hb", {10}}, {"a", "ha", {3, 1, 2}}, {"c", "hc", {21, 20}}};
    auto picked = spread_slots(free, 4);
    REQUIRE(picked.size() == 4);
    CHECK(picked[0] == Slot{"a", "ha", 1});
    CHECK(picked[1] == Slot{"c", "hc", 20});
    CHECK(picked[2] == Slot{"b", "hb", 10});
    CHECK(picked[3] == Slot{"a", "ha", 2});
    CHECK(spread_slots(free, 10).size() == 6);
    CHECK(count_slots(free) == 6);
    CHECK(spread_slots(free, 0).empty());
    // Ties on free slots are broken by id, so the result does not depend on the input order.
    auto tie = spread_slots({{"y", "h", {1}}, {"x", "h", {2}}}, 1);
    CHECK(tie[0].supervisor == "x");
  }

  TEST_CASE("deal_executors deals executors round-robin and sorts each worker's tasks") {
    std::vector<std::vector<std::int32_t>> executors{{1}, {2, 3}, {4}, {5, 6}, {7}};
    auto workers = deal_executors(executors, {{"a", "ha", 1}, {"b", "hb", 2}});
    REQUIRE(workers.size() == 2);
    CHECK(workers[0] == WorkerAssignment{"a", "ha", 1, {1, 4, 7}});
    CHECK(workers[1] == WorkerAssignment{"b", "hb", 2, {2, 3, 5, 6}});
    CHECK(workers_to_use(8, 3) == 3);
    CHECK(workers_to_use(2, 5) == 2);
    CHECK(workers_to_use(0, 5) == 1);
  }

  TEST_CASE("state: topologies written to disk come back in a new instance; damaged ones marked") {
    TempDir dir;
    TopologyRecord a;
    a.id = "alpha-1-100";
    a.name = "alpha";
    a.config = Map{{"topology.workers", 2}, {"x", "y"}};
    a.status = TopologyStatus::inactive;
    a.executors = {{1}, {2, 3}};
    a.task_components = {"spout", "bolt", "bolt"};
    a.assignment =
        Assignment{"alpha-1-100", 3, {{"s1", "h1", 7001, {1}}, {"s2", "h2", 7002, {2, 3}}}};
    a.submitted_ms = 123456;
    a.plugin_size = 5;
    a.plugin_checksum = gale::cluster::checksum("hello");
    TopologyRecord b = a;
    b.id = "beta-1-100";
    b.name = "beta";
    b.status = TopologyStatus::killed;
    b.kill_at_ms = 999;
    {
      NimbusState state(dir.path, quiet_logger());
      state.create(a, "hello");
      state.create(b, "hello");
      b.status = TopologyStatus::active;
      b.kill_at_ms = 0;
      state.save(b);
      CHECK_THROWS_AS(state.create(a, "hello"), gale::Error);
    }
    // Garbage where a meta file should be, and a directory without a plugin.
    fs::create_directories(dir.path / "topologies" / "junk");
    std::ofstream(dir.path / "topologies" / "junk" / "meta.msgpack") << "not msgpack at all";
    fs::create_directories(dir.path / "topologies" / "gamma-1-1");
    fs::copy_file(dir.path / "topologies" / "alpha-1-100" / "meta.msgpack",
                  dir.path / "topologies" / "gamma-1-1" / "meta.msgpack");

    NimbusState again(dir.path, quiet_logger());
    auto records = again.load_all();
    std::sort(records.begin(), records.end(), [](auto& x, auto& y) { return x.id < y.id; });
    REQUIRE(records.size() == 4);
    CHECK(records[0] == a);
    CHECK(records[1] == b);
    // Damaged records come back as what their directory tells, their bytes kept aside.
    CHECK(records[2].id == "gamma-1-1");
    CHECK(records[2].name == "gamma");
    CHECK(has(records[2].damaged, "meta names topology 'alpha-1-100'"));
    CHECK(records[2].assignment.version == 0);
    CHECK(records[3].id == "junk");
    CHECK(has(records[3].damaged, "meta.msgpack is damaged"));
    CHECK(has(records[3].damaged, "kept as meta.msgpack.damaged-"));
    CHECK_FALSE(fs::exists(dir.path / "topologies" / "junk" / "meta.msgpack"));
    CHECK(again.read_plugin(a.id, 1, 3) == "ell");
    again.remove(a.id);
    CHECK_FALSE(fs::exists(dir.path / "topologies" / a.id));
    CHECK(again.load_all().size() == 3);
  }

  TEST_CASE("submit stores a good plugin and assigns it over supervisors; status, list") {
    Fixture f;
    REQUIRE(f.heartbeat("s1", {7001, 7002}).ok);
    REQUIRE(f.heartbeat("s2", {7003, 7004}).ok);
    Reply r = f.submit("good");
    REQUIRE_MESSAGE(r.ok, r.error);
    const std::string id = gale::cluster::get_string(r.body, "topology_id");
    const TopologyRecord* t = f.nimbus->find_by_name("good");
    REQUIRE(t != nullptr);
    CHECK(t->id == id);
    // good_plugin: numbers x1, square x2 (2 tasks), 1 acker; topology.workers = 2.
    CHECK(t->executors.size() == 4);
    CHECK(t->task_components == std::vector<std::string>{"numbers", "square", "square", "__acker"});
    CHECK(t->config.at("topology.name") == Value("good"));
    CHECK(t->config.at("topology.id") == Value(id));  // the deployment's id, for the tasks
    REQUIRE(t->assignment.workers.size() == 2);
    CHECK(t->assignment.workers[0].supervisor != t->assignment.workers[1].supervisor);
    CHECK(all_tasks(t->assignment) == std::vector<std::int32_t>{1, 2, 3, 4});
    CHECK(t->assignment.version == 1);
    CHECK(fs::exists(f.dir.path / "topologies" / id / "plugin.so"));

    // The supervisor learns its slot, with what it needs to fetch and check the plugin.
    Reply hb = f.heartbeat("s1", {7001, 7002});
    REQUIRE(hb.ok);
    const List& assignments = gale::cluster::get_list(hb.body, "assignments");
    REQUIRE(assignments.size() == 1);
    const Map& slot = assignments[0].as_map();
    CHECK(gale::cluster::get_string(slot, "status") == "active");
    CHECK(gale::cluster::get_map(slot, "config").at("topology.id") == Value(id));
    CHECK(gale::cluster::get_int(slot, "plugin_size") ==
          static_cast<std::int64_t>(good_plugin().size()));
    const Bytes plugin = good_plugin();
    CHECK(gale::cluster::get_string(slot, "plugin_checksum") ==
          gale::cluster::checksum(
              std::string_view(reinterpret_cast<const char*>(plugin.data()), plugin.size())));

    Reply chunk = f.call("fetch_plugin", Map{{"topology_id", id}, {"offset", 0}, {"length", 100}});
    REQUIRE(chunk.ok);
    const Bytes& data = gale::cluster::get_bytes(chunk.body, "data");
    CHECK(data == Bytes(plugin.begin(), plugin.begin() + 100));

    // The supervisor runs the worker and the worker heartbeats: its slot is alive in status.
    const WorkerAssignment& w0 = t->assignment.workers[0];
    REQUIRE(f.call("supervisor_heartbeat",
                   Map{{"supervisor", w0.supervisor},
                       {"host", w0.host},
                       {"ports", List{w0.port}},
                       {"workers", List{slot_report(w0.port, id, true, 4242, 7)}}})
                .ok);
    Reply wb = f.call("worker_heartbeat", Map{{"topology_id", id},
                                              {"supervisor", w0.supervisor},
                                              {"host", w0.host},
                                              {"port", w0.port},
                                              {"version", 1},
                                              {"pid", 4242},
                                              {"uptime_secs", 7},
                                              {"stats", Map{}},
                                              {"last_error", ""}});
    REQUIRE(wb.ok);
    CHECK(gale::cluster::get_string(wb.body, "status") == "active");
    Reply st = f.call("status", Map{{"name", "good"}});
    REQUIRE(st.ok);
    const List& workers = gale::cluster::get_list(st.body, "workers");
    REQUIRE(workers.size() == 2);
    CHECK(gale::cluster::get_bool(workers[0].as_map(), "alive"));
    CHECK(gale::cluster::get_string(workers[0].as_map(), "state") == "running");
    CHECK_FALSE(gale::cluster::get_bool(workers[1].as_map(), "alive"));
    CHECK(gale::cluster::get_string(workers[1].as_map(), "state") == "starting");
    CHECK(gale::cluster::get_int(workers[0].as_map(), "uptime_secs") == 7);
    CHECK_FALSE(gale::cluster::get_list(workers[0].as_map(), "components").empty());

    Reply list = f.call("list", Map{});
    REQUIRE(list.ok);
    const List& tops = gale::cluster::get_list(list.body, "topologies");
    REQUIRE(tops.size() == 1);
    CHECK(gale::cluster::get_int(tops[0].as_map(), "tasks") == 4);
    CHECK(gale::cluster::get_int(tops[0].as_map(), "workers") == 2);
  }

  TEST_CASE("status: a worker's state comes from its supervisor, not its last heartbeat") {
    Fixture f;
    const std::string id = f.submit_on_s1("good");
    auto sup_beat = [&](List workers) {
      REQUIRE(f.call("supervisor_heartbeat", Map{{"supervisor", "s1"},
                                                 {"host", "host-s1"},
                                                 {"ports", List{7001, 7002}},
                                                 {"workers", std::move(workers)}})
                  .ok);
    };
    auto worker = [&]() {
      Reply st = f.call("status", Map{{"name", "good"}});
      REQUIRE(st.ok);
      for (const Value& w : gale::cluster::get_list(st.body, "workers")) {
        if (gale::cluster::get_int(w.as_map(), "port") == 7001) return w.as_map();
      }
      FAIL("no worker on port 7001");
      return Map{};
    };
    auto state = [&]() { return gale::cluster::get_string(worker(), "state"); };

    // Assigned, and the supervisor has not reported the slot yet.
    CHECK(state() == "starting");
    // A worker heartbeat alone does not make it run: the supervisor owns the process.
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7001, 100, 5, 1000)).ok);
    CHECK(state() == "starting");

    sup_beat(List{slot_report(7001, id, true, 100, 5)});
    CHECK(state() == "running");
    Map w = worker();
    CHECK(gale::cluster::get_bool(w, "alive"));
    CHECK(gale::cluster::get_int(w, "pid") == 100);
    CHECK(gale::cluster::get_int(w, "uptime_secs") == 5);
    f.advance_secs(2);
    CHECK(gale::cluster::get_int(worker(), "uptime_secs") == 7);

    // The worker died: its last heartbeat is still fresh, but the supervisor saw the exit and
    // waits for the back-off. No live uptime, no live rates; the crash in its place.
    sup_beat(
        List{slot_report(7001, id, false, 0, 0, 2, "signal 9", "worker pid 100 ended (signal 9)")});
    w = worker();
    CHECK(gale::cluster::get_string(w, "state") == "restarting");
    CHECK_FALSE(gale::cluster::get_bool(w, "alive"));
    CHECK(gale::cluster::get_int(w, "uptime_secs") == 0);
    CHECK(gale::cluster::get_int(w, "restarts") == 2);
    CHECK(gale::cluster::get_string(w, "last_exit") == "signal 9");
    CHECK(gale::cluster::get_string(w, "last_error") == "worker pid 100 ended (signal 9)");
    const Map& numbers = gale::cluster::get_map(gale::cluster::get_map(w, "stats"), "numbers");
    CHECK(gale::cluster::get_int(numbers, "emitted") == 1000);
    CHECK(gale::cluster::get_int(numbers, "emitted_per_s") == 0);
    Reply st = f.call("status", Map{{"name", "good"}});
    const Map& totals =
        gale::cluster::get_map(gale::cluster::get_map(st.body, "components"), "numbers");
    CHECK(gale::cluster::get_int(totals, "rate_per_s") == 0);

    // Restarted: until the new process heartbeats, the old one's heartbeat does not count.
    sup_beat(List{slot_report(7001, id, true, 101, 0, 2, "signal 9")});
    CHECK(state() == "starting");
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7001, 101, 0, 10)).ok);
    CHECK(state() == "running");

    // A plugin the supervisor cannot verify: no worker starts, and status says why.
    sup_beat(List{slot_report(7001, id, false, 0, 0, 2, "signal 9",
                              "fetching the plugin: checksum mismatch (expected 1, received 2)")});
    w = worker();
    CHECK(gale::cluster::get_string(w, "state") == "restarting");
    CHECK(gale::cluster::get_string(w, "last_error").find("checksum mismatch") !=
          std::string::npos);
    sup_beat(List{slot_report(7001, id, false, 0, 0, 0, "",
                              "fetching the plugin: checksum mismatch (expected 1, received 2)")});
    CHECK(state() == "starting");

    // The supervisor falls silent: nobody knows.
    f.advance_secs(4);
    f.nimbus->tick();
    CHECK(state() == "unknown");
    CHECK_FALSE(gale::cluster::get_bool(worker(), "alive"));
  }

  TEST_CASE("status: counters add up across worker restarts and survive a nimbus restart") {
    Fixture f;
    const std::string id = f.submit_on_s1("good");
    auto emitted = [&]() {
      Reply st = f.call("status", Map{{"name", "good"}});
      REQUIRE(st.ok);
      const Map& components = gale::cluster::get_map(st.body, "components");
      REQUIRE(components.count("numbers"));
      const Map& numbers = components.at("numbers").as_map();
      CHECK(gale::cluster::get_string(numbers, "kind") == "spout");
      CHECK(gale::cluster::get_int(numbers, "tasks") == 1);
      return gale::cluster::get_int(numbers, "emitted");
    };
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7001, 100, 5, 1000)).ok);
    CHECK(emitted() == 1000);
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7001, 100, 6, 1100)).ok);
    CHECK(emitted() == 1100);
    // A new process on the slot starts counting from zero: the one before is added.
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7001, 101, 1, 200)).ok);
    CHECK(emitted() == 1300);
    // The same pid again, but its uptime went back: another process.
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7001, 101, 0, 30)).ok);
    CHECK(emitted() == 1330);
    // The other slot's worker counts too.
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7002, 300, 9, 10)).ok);
    CHECK(emitted() == 1340);

    // The ended processes' counters are on disk; the running ones report theirs again.
    f.restart();
    CHECK(emitted() == 1300);
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7001, 101, 4, 45)).ok);
    REQUIRE(f.call("worker_heartbeat", worker_beat(id, 7002, 300, 12, 20)).ok);
    CHECK(emitted() == 1365);
  }

  TEST_CASE("a damaged meta keeps the topology's workers running; list, status; kill removes it") {
    Fixture f;
    const std::string id = f.submit_on_s1("good");
    const fs::path topology = f.dir.path / "topologies" / id;
    f.nimbus.reset();
    std::ofstream(topology / "meta.msgpack", std::ios::trunc) << "\x91\x8f garbage";
    f.restart();

    Reply list = f.call("list", Map{});
    REQUIRE(list.ok);
    const List& tops = gale::cluster::get_list(list.body, "topologies");
    REQUIRE(tops.size() == 1);
    CHECK(gale::cluster::get_string(tops[0].as_map(), "name") == "good");
    CHECK(gale::cluster::get_string(tops[0].as_map(), "status") == "damaged");
    CHECK(has(gale::cluster::get_string(tops[0].as_map(), "damaged"), "meta.msgpack is damaged"));
    bool kept_aside = false;
    for (const auto& e : fs::directory_iterator(topology)) {
      kept_aside = kept_aside || e.path().filename().string().starts_with("meta.msgpack.damaged-");
    }
    CHECK(kept_aside);

    // The supervisor reports the topology on both slots: it is told to keep them as they are.
    List reports;
    for (std::int64_t port : {7001, 7002}) {
      reports.push_back(
          Map{{"port", port}, {"topology_id", id}, {"version", 1}, {"running", true}});
    }
    const Map beat{{"supervisor", "s1"},
                   {"host", "host-s1"},
                   {"ports", List{7001, 7002}},
                   {"workers", reports}};
    Reply hb = f.call("supervisor_heartbeat", beat);
    REQUIRE(hb.ok);
    const List& assignments = gale::cluster::get_list(hb.body, "assignments");
    REQUIRE(assignments.size() == 2);
    for (const Value& a : assignments) {
      CHECK(gale::cluster::get_string(a.as_map(), "topology_id") == id);
      CHECK(gale::cluster::get_bool(a.as_map(), "keep"));
    }
    // Its workers get an error that is not "unknown topology" (which would stop them).
    Reply wb = f.call("worker_heartbeat", Map{{"topology_id", id},
                                              {"supervisor", "s1"},
                                              {"host", "host-s1"},
                                              {"port", 7001},
                                              {"version", 1}});
    CHECK_FALSE(wb.ok);
    CHECK(has(wb.error, "is damaged on nimbus"));
    Reply st = f.call("status", Map{{"name", "good"}});
    REQUIRE(st.ok);
    CHECK(gale::cluster::get_string(st.body, "status") == "damaged");
    CHECK(gale::cluster::get_list(st.body, "workers").size() == 2);
    // Its slots are not free; only kill works on it.
    Reply other = f.submit("other");
    CHECK_FALSE(other.ok);
    Reply rebalance = f.call("rebalance", Map{{"name", "good"}, {"workers", 1}});
    CHECK_FALSE(rebalance.ok);
    CHECK(has(rebalance.error, "only `gale kill` works on it"));
    CHECK_FALSE(f.call("deactivate", Map{{"name", "good"}}).ok);
    // Time passes without supervisors: a damaged topology is not moved either.
    f.advance_secs(10);
    f.nimbus->tick();
    REQUIRE(f.call("kill", Map{{"name", "good"}, {"wait_secs", 0}}).ok);
    f.nimbus->tick();
    CHECK(gale::cluster::get_list(f.call("list", Map{}).body, "topologies").empty());
    CHECK_FALSE(fs::exists(topology));
    hb = f.call("supervisor_heartbeat", beat);
    CHECK(gale::cluster::get_list(hb.body, "assignments").empty());
  }

  TEST_CASE("topology.id: nimbus's own over the user's, kept across a nimbus restart") {
    Fixture f;
    REQUIRE(f.heartbeat("s1", {7001, 7002}).ok);
    Reply r = f.submit("good", Map{{"topology.id", "chosen-by-user"}});
    REQUIRE_MESSAGE(r.ok, r.error);
    const std::string id = gale::cluster::get_string(r.body, "topology_id");
    CHECK(id.rfind("good-", 0) == 0);
    CHECK(f.nimbus->find_by_name("good")->config.at("topology.id") == Value(id));
    f.restart();
    const TopologyRecord* t = f.nimbus->find_by_name("good");
    REQUIRE(t != nullptr);
    CHECK(t->config.at("topology.id") == Value(id));
    Reply hb = f.heartbeat("s1", {7001, 7002});
    REQUIRE(hb.ok);
    for (const Value& slot : gale::cluster::get_list(hb.body, "assignments")) {
      CHECK(gale::cluster::get_map(slot.as_map(), "config").at("topology.id") == Value(id));
    }
  }

  TEST_CASE("a stored plugin whose bytes changed is found by checksum at start and kept aside") {
    Fixture f;
    const std::string id = f.submit_on_s1("good");
    const fs::path plugin = f.dir.path / "topologies" / id / "plugin.so";
    f.nimbus.reset();
    {
      std::fstream io(plugin, std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(500);
      io.put('\x5a');  // same size, other bytes
    }
    f.restart();
    const TopologyRecord* t = f.nimbus->find_by_name("good");
    REQUIRE(t != nullptr);
    CHECK(has(t->damaged, "checksum"));
    CHECK(has(t->damaged, "kept as plugin.so.damaged-"));
    CHECK_FALSE(fs::exists(plugin));
    // The record is whole: supervisors keep their full assignment; the plugin is not served.
    Reply hb = f.heartbeat("s1", {7001, 7002});
    REQUIRE(hb.ok);
    const List& assignments = gale::cluster::get_list(hb.body, "assignments");
    REQUIRE(assignments.size() == 2);
    CHECK(gale::cluster::get_int(assignments[0].as_map(), "version") == 1);
    Reply chunk = f.call("fetch_plugin", Map{{"topology_id", id}, {"offset", 0}, {"length", 100}});
    CHECK_FALSE(chunk.ok);
    CHECK(has(chunk.error, "is damaged on nimbus"));
  }

  TEST_CASE("submit reports the unknown keys the plugin's build function sets") {
    Fixture f;
    REQUIRE(f.heartbeat("s1", {7001, 7002, 7003, 7004}).ok);
    Reply r = f.submit("good");
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(gale::cluster::get_list(r.body, "warnings") ==
          List{"unknown config key 'topology.tick.tuple.freq.sec' (did you mean "
               "'topology.tick.tuple.freq.secs'?)"});
    // A key the submit overrides set is the client's to warn about (load_config), not repeated.
    Reply overridden = f.submit("good2", Map{{"topology.tick.tuple.freq.sec", 1}});
    REQUIRE_MESSAGE(overridden.ok, overridden.error);
    CHECK(gale::cluster::get_list(overridden.body, "warnings").empty());
  }

  TEST_CASE("submit refuses a duplicate name, a file that is not a plugin, too few slots") {
    Fixture f;
    f.heartbeat("s1", {7001, 7002});
    REQUIRE(f.submit("good").ok);
    Reply dup = f.submit("good");
    CHECK_FALSE(dup.ok);
    CHECK(has(dup.error, "topology 'good' is already running"));

    Reply junk = f.call(
        "submit",
        Map{{"name", "junk"}, {"plugin", Bytes{'h', 'e', 'l', 'l', 'o'}}, {"config", Map{}}});
    CHECK_FALSE(junk.ok);
    CHECK(has(junk.error, "plugin of topology 'junk' is not a loadable shared library"));
    CHECK_FALSE(has(junk.error, "upload-"));  // the scratch file name means nothing to the user

    Reply big = f.submit("big", Map{{"topology.workers", 3}});
    CHECK_FALSE(big.ok);
    CHECK(big.error == "topology 'big' needs 3 worker slots, 0 are free");
    CHECK(f.nimbus->find_by_name("big") == nullptr);
    CHECK(f.nimbus->find_by_name("junk") == nullptr);

    Reply bad_name = f.submit("../etc");
    CHECK_FALSE(bad_name.ok);
    CHECK(has(bad_name.error, "invalid topology name"));
  }

  TEST_CASE("a dead supervisor's workers move to free slots after the grace period") {
    Fixture f;
    f.heartbeat("s1", {7001});
    f.heartbeat("s2", {7002});
    f.heartbeat("s3", {7003});
    REQUIRE(f.submit("good").ok);
    const TopologyRecord* t = f.nimbus->find_by_name("good");
    REQUIRE(t->assignment.workers.size() == 2);
    // s1 and s2 run it (most free slots first, ties by id); s3 stays free.
    CHECK(t->assignment.slot("host-s1", 7001) != nullptr);
    CHECK(t->assignment.slot("host-s2", 7002) != nullptr);
    CHECK(t->assignment.slot("host-s1", 7001)->since == 1);
    CHECK(t->assignment.slot("host-s2", 7002)->since == 1);

    f.advance_secs(2);
    f.heartbeat("s1", {7001});
    f.heartbeat("s3", {7003});
    f.nimbus->tick();
    CHECK(f.nimbus->find_by_name("good")->assignment.version == 1);
    f.advance_secs(2);  // s2 silent for 4 s > 3 s, and the grace period is over
    f.heartbeat("s1", {7001});
    f.heartbeat("s3", {7003});
    f.nimbus->tick();
    t = f.nimbus->find_by_name("good");
    CHECK(t->assignment.version == 2);
    CHECK(t->assignment.slot("host-s2", 7002) == nullptr);
    CHECK(t->assignment.slot("host-s3", 7003) != nullptr);
    CHECK(all_tasks(t->assignment) == std::vector<std::int32_t>{1, 2, 3, 4});
    // Fencing: the moved worker's tenure starts with this version; s1's, unchanged, goes on.
    CHECK(t->assignment.slot("host-s3", 7003)->since == 2);
    CHECK(t->assignment.slot("host-s1", 7001)->since == 1);

    // The move is on disk: a restarted nimbus has it, and does not expire anyone during its
    // grace period although nobody has sent it a heartbeat yet.
    f.restart();
    f.nimbus->tick();
    t = f.nimbus->find_by_name("good");
    REQUIRE(t != nullptr);
    CHECK(t->assignment.version == 2);
    CHECK(t->assignment.slot("host-s3", 7003) != nullptr);
    CHECK(t->assignment.slot("host-s3", 7003)->since == 2);  // tenures are stored

    // Now s3 dies too with no free slot left: its executors join the live worker on s1.
    f.heartbeat("s1", {7001});
    f.advance_secs(4);
    f.heartbeat("s1", {7001});
    f.nimbus->tick();
    t = f.nimbus->find_by_name("good");
    CHECK(t->assignment.version == 3);
    REQUIRE(t->assignment.workers.size() == 1);
    CHECK(t->assignment.workers[0].supervisor == "s1");
    CHECK(all_tasks(t->assignment) == std::vector<std::int32_t>{1, 2, 3, 4});
    CHECK(t->assignment.workers[0].since == 3);  // its tasks changed: a new tenure
  }

  TEST_CASE("kill waits, then removes the topology from memory and disk; activate, rebalance") {
    Fixture f;
    f.heartbeat("s1", {7001, 7002, 7003});
    Reply r = f.submit("good");
    REQUIRE(r.ok);
    const std::string id = gale::cluster::get_string(r.body, "topology_id");

    REQUIRE(f.call("deactivate", Map{{"name", "good"}}).ok);
    CHECK(f.nimbus->find_by_name("good")->status == TopologyStatus::inactive);
    REQUIRE(f.call("activate", Map{{"name", "good"}}).ok);
    CHECK(f.nimbus->find_by_name("good")->status == TopologyStatus::active);

    REQUIRE(f.call("rebalance", Map{{"name", "good"}, {"workers", 3}}).ok);
    const TopologyRecord* t = f.nimbus->find_by_name("good");
    CHECK(t->assignment.version == 2);
    CHECK(t->assignment.workers.size() == 3);
    Reply too_many = f.call("rebalance", Map{{"name", "good"}, {"workers", 4}});
    CHECK(too_many.error == "topology 'good' needs 4 worker slots, 3 are free");

    REQUIRE(f.call("kill", Map{{"name", "good"}, {"wait_secs", 5}}).ok);
    CHECK(f.nimbus->find_by_name("good")->status == TopologyStatus::killed);
    CHECK(f.call("activate", Map{{"name", "good"}}).error == "topology 'good' is killed");
    f.restart();  // the status and the kill time survive a restart
    CHECK(f.nimbus->find_by_name("good")->status == TopologyStatus::killed);
    f.advance_secs(4);
    f.nimbus->tick();
    CHECK(f.nimbus->find_by_name("good") != nullptr);
    f.advance_secs(2);
    f.nimbus->tick();
    CHECK(f.nimbus->find_by_name("good") == nullptr);
    CHECK_FALSE(fs::exists(f.dir.path / "topologies" / id));
    Reply gone = f.call("worker_heartbeat", Map{{"topology_id", id},
                                                {"supervisor", "s1"},
                                                {"host", "host-s1"},
                                                {"port", 7001},
                                                {"version", 2}});
    CHECK(gone.error == "unknown topology '" + id + "'");
    CHECK(f.call("status", Map{{"name", "good"}}).error == "unknown topology 'good'");
    // The name is free again.
    f.heartbeat("s1", {7001, 7002, 7003});
    CHECK(f.submit("good").ok);
  }

  TEST_CASE("malformed requests get an error naming the problem, and nimbus keeps serving") {
    Fixture f;
    std::mt19937 random(42);
    for (int i = 0; i < 200; ++i) {
      std::string junk(static_cast<std::size_t>(random() % 64), '\0');
      for (char& c : junk) c = static_cast<char>(random());
      Reply r = gale::cluster::decode_reply(f.nimbus->handle(junk));
      CHECK_FALSE(r.ok);
      CHECK_FALSE(r.error.empty());
    }
    CHECK(f.call("submit", Map{{"name", 5}}).error == "field 'name': expected string, got int");
    CHECK(f.call("submit", Map{{"name", "x"}}).error == "field 'plugin': missing");
    CHECK(f.call("supervisor_heartbeat",
                 Map{{"supervisor", "s"}, {"host", "h"}, {"ports", List{"7001"}}})
              .error.starts_with("field 'ports': expected ports"));
    CHECK(f.call("supervisor_heartbeat",
                 Map{{"supervisor", "s"},
                     {"host", "h"},
                     {"ports", List{7001}},
                     {"workers", List{Map{{"port", 7001}, {"topology_id", 3}}}}})
              .error == "field 'topology_id': expected string, got int");
    CHECK(f.call("rebalance", Map{{"name", "x"}, {"workers", "two"}}).error ==
          "field 'workers': expected int, got string");
    CHECK(
        f.call("fetch_plugin", Map{{"topology_id", "nope"}, {"offset", 0}, {"length", 1}}).error ==
        "unknown topology 'nope'");
    CHECK(f.call("launch_missiles", Map{}).error == "unknown verb 'launch_missiles'");
    const std::string other_version = gale::wire::encode_values({std::int64_t{2}, "list", Map{}});
    CHECK(has(gale::cluster::decode_reply(f.nimbus->handle(other_version)).error, "version 2"));
    const std::string not_a_map = gale::wire::encode_values({std::int64_t{1}, "list", List{}});
    CHECK(gale::cluster::decode_reply(f.nimbus->handle(not_a_map)).error ==
          "malformed request: body is not a map");
    // The rejected heartbeats registered no supervisor, so no slot is free.
    CHECK(f.submit("good").error == "topology 'good' needs 2 worker slots, 0 are free");
    CHECK(f.call("list", Map{}).ok);
  }

  TEST_CASE("the daemon serves over its socket, survives junk frames and stops when asked") {
    TempDir dir;
    DaemonOptions options;
    options.port = free_port();
    options.nimbus.state_dir = dir.path;
    gale::common::SteadyClock clock;
    Daemon daemon(options, clock, quiet_logger());
    daemon.start();

    zmq::context_t context(1);
    zmq::socket_t raw(context, zmq::socket_type::dealer);
    raw.set(zmq::sockopt::linger, 0);
    raw.set(zmq::sockopt::rcvtimeo, 10000);
    raw.connect("tcp://127.0.0.1:" + std::to_string(options.port));
    // A dealer speaks like a REQ socket: [empty delimiter, payload] in, the same out.
    auto call = [&](const std::string& payload) {
      raw.send(zmq::message_t(), zmq::send_flags::sndmore);
      raw.send(zmq::buffer(payload), zmq::send_flags::none);
      zmq::message_t empty, reply;
      REQUIRE(raw.recv(empty));
      REQUIRE(raw.recv(reply));
      return gale::cluster::decode_reply(reply.to_string_view());
    };
    // A frame that is not a request envelope is dropped; junk in an envelope gets an error.
    raw.send(zmq::str_buffer("no envelope"), zmq::send_flags::none);
    Reply junk = call("\xc1\xff junk");
    CHECK_FALSE(junk.ok);
    CHECK(has(junk.error, "malformed request"));
    Reply list = call(gale::cluster::encode_request("list", Map{}));
    CHECK(list.ok);
    CHECK(gale::cluster::get_list(list.body, "topologies").empty());
    CHECK(call(gale::cluster::encode_request("nope", Map{})).error == "unknown verb 'nope'");
    daemon.stop();
    daemon.stop();  // idempotent
  }

  TEST_CASE("stop() answers the request in flight, then frees the port; destroy leaves nothing") {
    TempDir dir;
    DaemonOptions options;
    options.port = free_port();
    options.nimbus.state_dir = dir.path;
    // Holds the daemon's thread inside the request (at its "joined" log line) until stop() has
    // begun, so that the request is in flight when the daemon is told to stop.
    auto gate = std::make_shared<GateSink>("joined", "nimbus stopping");
    auto logger = std::make_shared<spdlog::logger>("nimbus-gate", gate);
    gale::common::SteadyClock clock;
    auto daemon = std::make_unique<Daemon>(options, clock, logger);
    daemon->start();

    zmq::context_t context(1);
    zmq::socket_t client(context, zmq::socket_type::dealer);
    client.set(zmq::sockopt::linger, 0);
    client.set(zmq::sockopt::rcvtimeo, 30000);
    client.connect("tcp://127.0.0.1:" + std::to_string(options.port));
    const std::string request = gale::cluster::encode_request(
        "supervisor_heartbeat",
        Map{{"supervisor", "s1"}, {"host", "h"}, {"ports", List{7001}}, {"workers", List{}}});
    client.send(zmq::message_t(), zmq::send_flags::sndmore);
    client.send(zmq::buffer(request), zmq::send_flags::none);
    REQUIRE(gate->wait_until_held());

    daemon->stop();  // released by its own "stopping" line; returns after the answer went out
    CHECK(gate->released());
    zmq::message_t empty, reply;
    REQUIRE(client.recv(empty));
    REQUIRE(client.recv(reply));
    const Reply answered = gale::cluster::decode_reply(reply.to_string_view());
    CHECK(answered.ok);
    CHECK(gale::cluster::get_list(answered.body, "assignments").empty());

    // Nothing of the daemon runs: its port binds again, and a new daemon recovers the same state.
    daemon.reset();
    {
      zmq::context_t again(1);
      CHECK_NOTHROW(
          gale::cluster::RpcServer(again, "tcp://127.0.0.1:" + std::to_string(options.port)));
    }
    Daemon second(options, clock, quiet_logger());
    CHECK_NOTHROW(second.start());
    second.stop();
  }
}
