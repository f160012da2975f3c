#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/program_options/errors.hpp>

#include <gale/config.hpp>
#include <gale/errors.hpp>

#include "cli/client_commands.hpp"
#include "cli/supervisor_command.hpp"
#include "cluster/assignment_file.hpp"
#include "cluster/protocol.hpp"
#include "common/clock.hpp"
#include "supervisor/daemon.hpp"
#include "supervisor/launcher.hpp"
#include "supervisor/plugin_cache.hpp"
#include "supervisor/supervisor.hpp"
#include "tests/support/support.hpp"
#include "tests/unit/fake_cgroupfs.hpp"

// The supervisor without processes, sockets or real time: a fake launcher whose "processes" end
// when the test says so, a manual clock, and a fake nimbus answering fetch_plugin.

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using gale::Bytes;
using gale::List;
using gale::Map;
using gale::Value;
using gale::cluster::Reply;
using gale::supervisor::ExitStatus;
using gale::supervisor::LaunchResult;
using gale::supervisor::LaunchSpec;
using gale::supervisor::Supervisor;
using gale::supervisor::SupervisorOptions;

// Thread: the test's.
class FakeLauncher final : public gale::supervisor::ProcessLauncher {
 public:
  LaunchResult launch(const LaunchSpec& spec) override {
    if (fail_next) {
      fail_next = false;
      return {-1, "cannot start " + spec.program + ": No such file or directory"};
    }
    launched.push_back(spec);
    const int pid = next_pid++;
    alive[pid] = true;
    return {pid, ""};
  }
  std::optional<ExitStatus> reap(int pid) override {
    auto it = exits.find(pid);
    if (it == exits.end()) return std::nullopt;
    ExitStatus s = it->second;
    exits.erase(it);
    alive.erase(pid);
    return s;
  }
  void signal(int pid, int sig) override {
    signals.emplace_back(pid, sig);
    if (sig == SIGKILL || (sig == SIGTERM && term_ends)) exits[pid] = ExitStatus::killed_by(sig);
  }
  // Makes `pid` end with `status` (seen at the next reap).
  void end(int pid, ExitStatus status) { exits[pid] = status; }
  int signals_to(int pid, int sig) const {
    int n = 0;
    for (auto& [p, s] : signals) n += p == pid && s == sig;
    return n;
  }

  std::vector<LaunchSpec> launched;
  std::map<int, bool> alive;
  std::map<int, ExitStatus> exits;
  std::vector<std::pair<int, int>> signals;
  bool term_ends = false;  // whether SIGTERM ends a process (else only SIGKILL does)
  bool fail_next = false;
  int next_pid = 1000;
};

// A launcher for the daemon's own thread: every call is noted under a mutex, in order, and the test
// can wait for launches and signals. Thread: any.
class SharedLauncher final : public gale::supervisor::ProcessLauncher {
 public:
  LaunchResult launch(const LaunchSpec&) override {
    std::lock_guard lock(mutex_);
    const int pid = next_pid_++;
    alive_.insert(pid);
    note_locked("launch " + std::to_string(pid));
    return {pid, ""};
  }
  std::optional<ExitStatus> reap(int pid) override {
    std::lock_guard lock(mutex_);
    auto it = exits_.find(pid);
    if (it == exits_.end()) return std::nullopt;
    const ExitStatus status = it->second;
    exits_.erase(it);
    alive_.erase(pid);
    note_locked("reap " + std::to_string(pid));
    return status;
  }
  void signal(int pid, int sig) override {
    std::lock_guard lock(mutex_);
    note_locked((sig == SIGKILL   ? "SIGKILL "
                 : sig == SIGTERM ? "SIGTERM "
                                  : "signal ") +
                std::to_string(pid));
    if (sig == SIGKILL || (sig == SIGTERM && term_ends_)) exits_[pid] = ExitStatus::killed_by(sig);
  }
  void note(const std::string& event) {
    std::lock_guard lock(mutex_);
    note_locked(event);
  }
  void set_term_ends(bool ends) {
    std::lock_guard lock(mutex_);
    term_ends_ = ends;
  }
  // Waits (up to a generous 30 s: the test has failed by then) until `n` events start with
  // `prefix`.
  bool wait_for(const std::string& prefix, std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] { return count_locked(prefix) >= n; });
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::size_t alive() {
    std::lock_guard lock(mutex_);
    return alive_.size();
  }

 private:
  void note_locked(std::string event) {
    events_.push_back(std::move(event));
    changed_.notify_all();
  }
  std::size_t count_locked(const std::string& prefix) const {
    return static_cast<std::size_t>(
        std::count_if(events_.begin(), events_.end(),
                      [&](const std::string& e) { return e.starts_with(prefix); }));
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
  std::set<int> alive_;
  std::map<int, ExitStatus> exits_;
  bool term_ends_ = true;
  int next_pid_ = 2000;
};

struct TempDir : gale::test::TempDir {
  TempDir() : gale::test::TempDir("gale-supervisor-test") {}
};

const std::string k_plugin = "not really a shared object, but bytes to fetch";

// Plays nimbus's fetch_plugin from `plugin` (and counts requests).
struct FakeNimbus {
  std::string plugin = k_plugin;
  std::string announced_checksum = gale::cluster::checksum(k_plugin);
  int fetches = 0;
  std::vector<std::int64_t> lengths;
  bool answer = true;

  std::optional<Reply> operator()(std::string_view verb, const Map& body) {
    if (!answer) return std::nullopt;
    Reply r;
    if (verb != "fetch_plugin") {
      r.error = "unexpected " + std::string(verb);
      return r;
    }
    ++fetches;
    const auto offset = gale::cluster::get_int(body, "offset");
    const auto length = gale::cluster::get_int(body, "length");
    lengths.push_back(length);
    const std::string chunk =
        plugin.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
    r.ok = true;
    r.body["data"] = Bytes(chunk.begin(), chunk.end());
    r.body["total"] = static_cast<std::int64_t>(plugin.size());
    r.body["checksum"] = announced_checksum;
    return r;
  }
};

// One assignment entry of a supervisor_heartbeat reply.
Value assigned(std::int64_t port, const std::string& topology, std::int64_t version,
               const std::string& status = "active",
               const std::string& checksum = gale::cluster::checksum(k_plugin)) {
  gale::cluster::Assignment a;
  a.topology_id = topology;
  a.version = version;
  a.workers.push_back({"sup-1", "127.0.0.1", port, {1, 2}});
  Map m;
  m["port"] = port;
  m["topology_id"] = topology;
  m["version"] = version;
  m["assignment"] = a.to_map();
  m["config"] = Map{{"topology.workers", Value(1)}};
  m["status"] = status;
  m["plugin_size"] = static_cast<std::int64_t>(k_plugin.size());
  m["plugin_checksum"] = checksum;
  return Value(m);
}

SupervisorOptions test_options(const fs::path& state_dir, std::vector<std::int64_t> ports) {
  SupervisorOptions o;
  o.id = "sup-1";
  o.host = "127.0.0.1";
  o.ports = std::move(ports);
  o.state_dir = state_dir;
  o.nimbus = "127.0.0.1:6627";
  o.executable = "/usr/bin/gale";
  o.heartbeat_period = 1s;
  o.worker_timeout = 5s;
  o.worker_start_timeout = 10s;
  o.kill_grace = 3s;
  o.max_backoff = 10s;
  o.stable_uptime = 10s;
  o.cgroup_mount.clear();  // never the host's cgroups
  return o;
}

// A supervisor daemon whose nimbus assigns wc-1 to both its slots, with a shared launcher.
struct DaemonFixture {
  TempDir dir;
  SharedLauncher launcher;
  gale::common::ManualClock clock;
  FakeNimbus nimbus;  // only ever called by the daemon's thread
  std::unique_ptr<gale::supervisor::Daemon> daemon;

  DaemonFixture() {
    auto rpc = [this](std::string_view verb, const Map& body) -> std::optional<Reply> {
      if (verb != "supervisor_heartbeat") return nimbus(verb, body);
      launcher.note("heartbeat");
      Reply r;
      r.ok = true;
      r.body["assignments"] = List{assigned(6700, "wc-1", 1), assigned(6701, "wc-1", 1)};
      return r;
    };
    daemon = std::make_unique<gale::supervisor::Daemon>(test_options(dir.path, {6700, 6701}), rpc,
                                                        launcher, clock);
  }
};

std::ptrdiff_t position(const std::vector<std::string>& events, const std::string& event) {
  return std::find(events.begin(), events.end(), event) - events.begin();
}

struct Fixture {
  TempDir dir;
  FakeLauncher launcher;
  gale::common::ManualClock clock;
  FakeNimbus nimbus;
  std::unique_ptr<Supervisor> supervisor;

  // What the supervisor logged (one line per entry).
  std::ostringstream log;

  explicit Fixture(std::vector<std::int64_t> ports = {6700},
                   std::unique_ptr<gale::supervisor::CgroupTree> cgroups = nullptr) {
    auto logger = std::make_shared<spdlog::logger>(
        "supervisor", std::make_shared<spdlog::sinks::ostream_sink_st>(log));
    supervisor = std::make_unique<Supervisor>(
        test_options(dir.path, std::move(ports)),
        [this](std::string_view verb, const Map& body) { return nimbus(verb, body); }, launcher,
        clock, logger, std::move(cgroups));
  }
  gale::supervisor::SlotView slot(std::int64_t port = 6700) { return *supervisor->slot(port); }
  void advance(std::chrono::milliseconds by) { clock.advance(by); }
  void touch_heartbeat(std::int64_t port = 6700) {
    const fs::path p = dir.path / "workers" / std::to_string(port) / "heartbeat";
    std::ofstream(p, std::ios::trunc) << clock.now_ns() << "\n";
    // A distinct modification time every call, whatever the file system's resolution.
    static auto t = fs::file_time_type::clock::now();
    t += 1s;
    fs::last_write_time(p, t);
  }
};

}  // namespace

TEST_SUITE("supervisor") {
  TEST_CASE("an assigned slot gets a worker with the documented command line and files") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 1);
    const LaunchSpec& spec = f.launcher.launched[0];
    const std::string wdir = (f.dir.path / "workers" / "6700").string();
    CHECK(spec.program == "/usr/bin/gale");
    CHECK(spec.args == std::vector<std::string>{"worker", "--nimbus", "127.0.0.1:6627",
                                                "--supervisor", "sup-1", "--host", "127.0.0.1",
                                                "--port", "6700", "--dir", wdir, "--plugin",
                                                (f.dir.path / "plugins" / "wc-1.so").string()});
    CHECK(spec.output_path == wdir + "/worker.out");
    // The plugin is cached, checked, and the assignment file is readable by the worker.
    std::ifstream in(f.dir.path / "plugins" / "wc-1.so", std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == k_plugin);
    const auto file = gale::cluster::read_assignment_file(fs::path(wdir) / "assignment.msgpack");
    CHECK(file.assignment.topology_id == "wc-1");
    CHECK(file.status == "active");
    CHECK(file.config.get_int("topology.workers", 0) == 1);
    const auto v = f.slot();
    CHECK(v.running);
    CHECK(v.pid == 1000);
    CHECK(v.topology_id == "wc-1");

    // The heartbeat body reports the slot.
    const Map body = f.supervisor->heartbeat_body();
    CHECK(gale::cluster::get_string(body, "supervisor") == "sup-1");
    CHECK(gale::cluster::get_list(body, "ports").size() == 1);
    const List& workers = gale::cluster::get_list(body, "workers");
    REQUIRE(workers.size() == 1);
    CHECK(gale::cluster::get_int(workers[0].as_map(), "pid") == 1000);
    CHECK(gale::cluster::get_bool(workers[0].as_map(), "running"));

    // A second assignment of the same plugin does not fetch it again.
    const int fetches = f.nimbus.fetches;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 2)});
    CHECK(f.nimbus.fetches == fetches);
    CHECK(f.launcher.launched.size() == 1);
  }

  TEST_CASE("a crashed worker is restarted at once, then with a growing back-off") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 1);

    f.launcher.end(1000, ExitStatus::exited(1));
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 2);  // first crash: no delay
    CHECK(f.slot().restarts == 1);
    CHECK(f.slot().last_exit == "exit 1");
    CHECK(f.slot().last_error.find("[supervisor] worker pid 1000 ended (exit 1)") !=
          std::string::npos);

    f.launcher.end(1001, ExitStatus::killed_by(SIGSEGV));
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 2);  // second crash in a row: 1 s
    CHECK(f.slot().last_exit == "signal 11");
    CHECK_FALSE(f.slot().running);
    f.advance(999ms);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 2);
    f.advance(1ms);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 3);
    CHECK(f.slot().restarts == 2);

    f.launcher.end(1002, ExitStatus::exited(2));
    f.supervisor->supervise();
    f.advance(1999ms);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 3);  // third: 2 s
    f.advance(1ms);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 4);

    // A worker that ran stably before crashing starts the count afresh: restarted at once.
    f.touch_heartbeat();
    f.supervisor->supervise();
    for (int i = 0; i < 12; ++i) {
      f.advance(1s);
      f.touch_heartbeat();
      f.supervisor->supervise();
    }
    f.launcher.end(1003, ExitStatus::killed_by(SIGKILL));
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 5);
    CHECK(f.slot().restarts == 4);
  }

  TEST_CASE("exit 3 restarts the worker on the newer assignment without counting a crash") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    CHECK_FALSE(f.supervisor->heartbeat());  // the fake nimbus answers fetch_plugin only
    f.advance(100ms);
    CHECK_FALSE(f.supervisor->heartbeat_due());
    f.launcher.end(1000, ExitStatus::exited(3));
    f.supervisor->supervise();
    // It waits for the assignment that changed its tasks and asks nimbus for it now.
    CHECK(f.launcher.launched.size() == 1);
    CHECK(f.supervisor->heartbeat_due());
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 2)});
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 2);
    CHECK(f.slot().restarts == 0);
    CHECK(f.slot().last_exit == "exit 3");
    CHECK(f.slot().version == 2);
    const auto file =
        gale::cluster::read_assignment_file(f.dir.path / "workers" / "6700" / "assignment.msgpack");
    CHECK(file.assignment.version == 2);

    // Without a newer assignment it restarts anyway after a few heartbeat periods.
    f.launcher.end(1001, ExitStatus::exited(3));
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 2);
    f.advance(3s);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 3);
    CHECK(f.slot().restarts == 0);
  }

  TEST_CASE("a worker whose heartbeat file goes stale is killed and restarted") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    f.touch_heartbeat();
    f.supervisor->supervise();
    f.advance(5s);
    f.supervisor->supervise();
    CHECK(f.launcher.signals.empty());  // exactly the timeout: not yet
    f.advance(1ms);
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1000, SIGTERM) == 1);
    CHECK(f.slot().stopping);
    // It ignores SIGTERM: SIGKILL after the grace period.
    f.advance(2999ms);
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1000, SIGKILL) == 0);
    f.advance(1ms);
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1000, SIGKILL) == 1);
    f.supervisor->supervise();  // reaped: restarted
    CHECK(f.launcher.launched.size() == 2);
    CHECK(f.slot().restarts == 1);
    CHECK(f.slot().last_exit == "signal 9");
    CHECK(f.slot().last_error.find("wrote no heartbeat for 5 s") != std::string::npos);

    // A new worker has the start-up grace (10 s) for its first heartbeat; the old file's time does
    // not count for it.
    f.advance(9s);
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1001, SIGTERM) == 0);
    f.advance(1001ms);
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1001, SIGTERM) == 1);
  }

  TEST_CASE("workers of unassigned slots and of replaced topologies are stopped") {
    Fixture f({6700, 6701});
    f.launcher.term_ends = true;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1), assigned(6701, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 2);

    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 2)});
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1001, SIGTERM) == 1);
    f.supervisor->supervise();
    CHECK_FALSE(f.supervisor->slot(6701)->running);
    f.advance(5s);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 2);  // not restarted
    CHECK(f.supervisor->slot(6701)->restarts == 0);

    // Port 6700 now belongs to another topology: the old worker stops, then the new one starts.
    f.supervisor->apply_assignments(List{assigned(6700, "other-2", 1)});
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1000, SIGTERM) == 1);
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 3);
    CHECK(f.launcher.launched[2].args.back() == (f.dir.path / "plugins" / "other-2.so").string());
    // The plugin of a topology gone from this supervisor leaves the cache once no worker runs it.
    CHECK(fs::exists(f.dir.path / "plugins" / "wc-1.so"));
    f.supervisor->apply_assignments(List{assigned(6700, "other-2", 1)});
    CHECK_FALSE(fs::exists(f.dir.path / "plugins" / "wc-1.so"));
  }

  TEST_CASE("a worker that finishes its killed topology is not restarted") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1, "killed")});
    f.launcher.end(1000, ExitStatus::exited(0));
    f.supervisor->supervise();
    f.advance(60s);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 1);
    CHECK(f.slot().restarts == 0);
  }

  TEST_CASE("a failed start is retried after a delay") {
    Fixture f;
    f.launcher.fail_next = true;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    CHECK(f.launcher.launched.empty());
    CHECK(f.slot().last_error.find("cannot start /usr/bin/gale") != std::string::npos);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.empty());
    f.advance(1s);
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 1);
  }

  TEST_CASE("a plugin whose checksum does not match is rejected and no worker starts") {
    Fixture f;
    f.nimbus.plugin = "tampered bytes of the same length as the real plugin!!!";
    f.nimbus.plugin.resize(k_plugin.size());
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    CHECK(f.launcher.launched.empty());
    CHECK_FALSE(fs::exists(f.dir.path / "plugins" / "wc-1.so"));
    // Nimbus hears why no worker runs: the slot's last error names the problem.
    CHECK(f.slot().last_error.find("checksum mismatch") != std::string::npos);
    CHECK(f.supervisor->heartbeat_body().at("workers").as_list().at(0).as_map().at("last_error") ==
          gale::Value(f.slot().last_error));

    // Once nimbus serves the right bytes, the next heartbeat's assignment starts the worker.
    f.nimbus.plugin = k_plugin;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 1);
  }

  TEST_CASE("plugin cache: chunked fetch, checksum and size checks, unsafe ids") {
    TempDir dir;
    gale::supervisor::PluginCache cache(dir.path / "plugins");
    FakeNimbus nimbus;
    nimbus.plugin = std::string(9 << 20, 'x');
    nimbus.plugin[12345] = 'y';
    const std::string sum = gale::cluster::checksum(nimbus.plugin);
    nimbus.announced_checksum = sum;
    auto rpc = [&](std::string_view verb, const Map& body) { return nimbus(verb, body); };
    const auto size = static_cast<std::int64_t>(nimbus.plugin.size());

    SUBCASE("chunks of at most 4 MiB") {
      CHECK_FALSE(cache.ensure("big-1", size, sum, rpc).has_value());
      CHECK(nimbus.lengths == std::vector<std::int64_t>{4 << 20, 4 << 20, 1 << 20});
      CHECK(fs::file_size(cache.path_of("big-1")) == nimbus.plugin.size());
      // Cached: no second fetch.
      CHECK_FALSE(cache.ensure("big-1", size, sum, rpc).has_value());
      CHECK(nimbus.fetches == 3);
    }
    SUBCASE("checksum mismatch") {
      const auto error = cache.ensure("big-1", size, "0123456789abcdef", rpc);
      REQUIRE(error.has_value());
      CHECK(error->find("checksum mismatch") != std::string::npos);
      CHECK_FALSE(fs::exists(cache.path_of("big-1")));
    }
    SUBCASE("size mismatch") {
      const auto error = cache.ensure("big-1", size + 1, sum, rpc);
      REQUIRE(error.has_value());
      CHECK(error->find("the assignment says") != std::string::npos);
    }
    SUBCASE("nimbus does not answer") {
      nimbus.answer = false;
      const auto error = cache.ensure("big-1", size, sum, rpc);
      REQUIRE(error.has_value());
      CHECK(error->find("nimbus did not answer") != std::string::npos);
    }
    SUBCASE("a corrupt cached file is fetched again") {
      fs::create_directories(dir.path / "plugins");
      std::ofstream(cache.path_of("big-1")) << "garbage";
      CHECK_FALSE(cache.ensure("big-1", size, sum, rpc).has_value());
      CHECK(fs::file_size(cache.path_of("big-1")) == nimbus.plugin.size());
    }
    SUBCASE("ids that are not file names") {
      CHECK(cache.ensure("../evil", size, sum, rpc).has_value());
      CHECK_FALSE(gale::supervisor::is_safe_topology_id(".hidden"));
      CHECK_FALSE(gale::supervisor::is_safe_topology_id("a/b"));
      CHECK(gale::supervisor::is_safe_topology_id("word-count_1.2"));
    }
  }

  TEST_CASE("shutdown stops every worker, escalating to SIGKILL, and starts none") {
    Fixture f({6700, 6701});
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1), assigned(6701, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 2);
    f.launcher.end(1001, ExitStatus::exited(1));  // crashes just as the supervisor stops
    f.supervisor->begin_shutdown();
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1000, SIGTERM) == 1);
    CHECK_FALSE(f.supervisor->stopped());
    f.advance(3s);
    f.supervisor->supervise();
    CHECK(f.launcher.signals_to(1000, SIGKILL) == 1);
    f.supervisor->supervise();
    CHECK(f.supervisor->stopped());
    CHECK(f.launcher.launched.size() == 2);
  }

  TEST_CASE("kill_all sends SIGKILL at once (a second Ctrl-C)") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    f.supervisor->begin_shutdown();
    f.supervisor->kill_all();
    CHECK(f.launcher.signals_to(1000, SIGKILL) == 1);
    f.supervisor->supervise();
    CHECK(f.supervisor->stopped());
    CHECK(f.launcher.signals_to(1000, SIGKILL) == 1);
  }

  TEST_CASE("daemon: stop() stops every worker before it returns, and starts nothing after") {
    DaemonFixture f;
    f.daemon->start();
    REQUIRE(f.launcher.wait_for("launch", 2));
    f.daemon->stop();
    const std::vector<std::string> events = f.launcher.events();
    INFO(events.size());
    CHECK(f.launcher.alive() == 0);
    CHECK(events.front() == "heartbeat");
    for (const std::string pid : {"2000", "2001"}) {
      // In order: started, told to stop, reaped.
      CHECK(position(events, "launch " + pid) < position(events, "SIGTERM " + pid));
      CHECK(position(events, "SIGTERM " + pid) < position(events, "reap " + pid));
      CHECK(position(events, "reap " + pid) < static_cast<std::ptrdiff_t>(events.size()));
    }
    // Draining refuses new work: no heartbeat and no start after the first SIGTERM.
    const auto first_term = std::find_if(events.begin(), events.end(), [](const std::string& e) {
      return e.starts_with("SIGTERM");
    });
    CHECK(std::none_of(first_term, events.end(), [](const std::string& e) {
      return e.starts_with("launch") || e == "heartbeat";
    }));
    f.daemon->stop();  // idempotent
    f.daemon.reset();  // destroying a stopped daemon does nothing more
    CHECK(f.launcher.events() == events);
  }

  TEST_CASE("daemon: destroying a started daemon stops it; kill_workers() hurries a drain") {
    SUBCASE("destroy") {
      DaemonFixture f;
      f.daemon->start();
      REQUIRE(f.launcher.wait_for("launch", 2));
      f.daemon.reset();
      CHECK(f.launcher.alive() == 0);
      CHECK(f.launcher.events().back().starts_with("reap"));
    }
    SUBCASE("kill_workers") {
      DaemonFixture f;
      f.launcher.set_term_ends(false);  // the workers ignore SIGTERM; the clock never moves
      f.daemon->start();
      REQUIRE(f.launcher.wait_for("launch", 2));
      std::thread stopper([&] { f.daemon->stop(); });
      REQUIRE(f.launcher.wait_for("SIGTERM", 2));  // stop() is draining
      f.daemon->kill_workers();
      stopper.join();
      const std::vector<std::string> events = f.launcher.events();
      CHECK(f.launcher.alive() == 0);
      CHECK(position(events, "SIGTERM 2000") < position(events, "SIGKILL 2000"));
      CHECK(position(events, "SIGKILL 2000") < position(events, "reap 2000"));
      CHECK(position(events, "SIGKILL 2001") < position(events, "reap 2001"));
    }
    SUBCASE("stop before start") {
      DaemonFixture f;
      f.daemon->stop();
      f.daemon->kill_workers();
      CHECK(f.launcher.events().empty());
    }
  }

  TEST_CASE("malformed assignments change nothing") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    CHECK_THROWS_AS(f.supervisor->apply_assignments(List{Value(42)}), gale::cluster::ProtocolError);
    Map bad = assigned(6700, "../x", 1).as_map();
    CHECK_THROWS_AS(f.supervisor->apply_assignments(List{Value(bad)}),
                    gale::cluster::ProtocolError);
    f.supervisor->supervise();
    CHECK(f.slot().running);
    CHECK(f.launcher.signals.empty());
  }

  TEST_CASE("nimbus down: the heartbeat fails and the workers keep running") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    f.nimbus.answer = false;
    CHECK_FALSE(f.supervisor->heartbeat());
    f.launcher.end(1000, ExitStatus::exited(1));
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 2);  // still restarted on the last assignment
  }

  TEST_CASE("CLI: argument errors") {
    namespace po = boost::program_options;
    CHECK_THROWS_AS(gale::cli::run_client("status", {}), po::error);
    CHECK_THROWS_AS(gale::cli::run_client("rebalance", {"wc"}), po::error);
    CHECK_THROWS_AS(gale::cli::run_client("rebalance", {"wc", "-n", "0"}), po::error);
    CHECK_THROWS_AS(gale::cli::run_client("submit", {"x.so"}), po::error);  // no --name
    CHECK_THROWS_AS(gale::cli::run_client("kill", {"wc", "--wait", "-1"}), po::error);
    CHECK_THROWS_AS(gale::cli::run_client("list", {"--bogus"}), po::error);
    CHECK_THROWS_AS(gale::cli::run_client("list", {"--nimbus", "nocolon"}), gale::Error);
    CHECK_THROWS_AS(gale::cli::parse_ports("6700,abc"), po::error);
    CHECK_THROWS_AS(gale::cli::parse_ports("6700,6700"), po::error);
    CHECK_THROWS_AS(gale::cli::parse_ports("70000"), po::error);
    CHECK(gale::cli::parse_ports("6700,6702") == std::vector<std::int64_t>{6700, 6702});
    CHECK_THROWS_AS(gale::cli::run_supervisor({"--slots", "2", "--ports", "6700"}), po::error);
    CHECK_THROWS_AS(gale::cli::run_supervisor({"--slots", "0"}), po::error);
    try {
      gale::cli::run_client("submit",
                            {"/nonexistent/plugin.so", "--name", "wc", "--nimbus", "127.0.0.1:1"});
      FAIL("expected an error");
    } catch (const gale::Error& e) {
      CHECK(std::string(e.what()) == "plugin file /nonexistent/plugin.so does not exist");
    }
  }

  TEST_CASE("CLI: nimbus that does not answer is one clear error") {
    try {
      // Nothing listens on port 1 of loopback: the request is never answered.
      gale::cli::run_client("list", {"--nimbus", "127.0.0.1:1", "--timeout", "0.2"});
      FAIL("expected an error");
    } catch (const gale::Error& e) {
      CHECK(std::string(e.what()) == "nimbus at 127.0.0.1:1 did not answer within 0.2 s");
    }
  }

  TEST_CASE("CLI: the nimbus address comes from the flag, the config file, or the default") {
    gale::Config config;
    CHECK(gale::cli::nimbus_address(std::nullopt, config) == "127.0.0.1:6627");
    config.set("nimbus.address", "10.0.0.5:7000");
    CHECK(gale::cli::nimbus_address(std::nullopt, config) == "10.0.0.5:7000");
    CHECK(gale::cli::nimbus_address(std::string("h:1"), config) == "h:1");
    CHECK(gale::cli::task_ranges({1, 2, 3, 7, 9, 10}) == "1-3,7,9-10");
    CHECK(gale::cli::task_ranges({}) == "-");
    CHECK(gale::cli::duration_text(65) == "1m 05s");
    CHECK(gale::cli::duration_text(7322) == "2h 02m");
  }

  TEST_CASE("CLI: status prints nimbus's component totals, spouts first, ackers last") {
    using gale::Map;
    using gale::Value;
    auto totals = [](std::string kind, std::int64_t tasks, std::int64_t emitted,
                     std::int64_t executed, std::int64_t rate) {
      Map s{{"kind", kind},
            {"tasks", tasks},
            {"emitted", emitted},
            {"acked", emitted},
            {"failed", std::int64_t{2}},
            {"executed", executed},
            {"rate_per_s", rate},
            {"latency_count", std::int64_t{0}}};
      return s;
    };
    Map spout = totals("spout", 1, 1000, 0, 100);
    spout["latency_count"] = std::int64_t{1000};
    spout.emplace("latency_p50_us", std::int64_t{1500});
    spout.emplace("latency_p99_us", std::int64_t{4250});
    const Map components{{"__acker", Value(totals("acker", 1, 0, 40, 4))},
                         {"count", Value(totals("bolt", 3, 0, 7500, 500))},
                         {"sentences", Value(spout)}};
    const std::string text = gale::cli::component_table(components);
    INFO(text);
    const auto spout_at = text.find("sentences");
    const auto count_at = text.find("count");
    const auto acker_at = text.find("__acker");
    REQUIRE(spout_at != std::string::npos);
    CHECK(spout_at < count_at);
    CHECK(count_at < acker_at);
    const std::string count_row = text.substr(count_at, text.find('\n', count_at) - count_at);
    CHECK(count_row.find(" 3 ") != std::string::npos);
    CHECK(count_row.find("7.50k") != std::string::npos);
    CHECK(count_row.find("500") != std::string::npos);
    CHECK(text.find("1.50 / 4.25") != std::string::npos);
    CHECK(gale::cli::component_table(Map{}).empty());
  }

  TEST_CASE("a damaged assignment file is written again before the worker restarts") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 1);
    const fs::path file = f.dir.path / "workers" / "6700" / "assignment.msgpack";
    std::ifstream in(file, std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    in.close();
    SUBCASE("garbage") { bytes = "\x92\x81\xa3garbage"; }
    SUBCASE("truncated") { bytes.resize(bytes.size() / 2); }
    SUBCASE("a byte changed that still decodes") {
      const std::size_t at = bytes.find("127.0.0.1");
      REQUIRE(at != std::string::npos);
      bytes[at + 8] = '2';
      CHECK_NOTHROW(gale::cluster::read_assignment_file(file));  // the original reads
      std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
      CHECK_THROWS_WITH_AS(gale::cluster::read_assignment_file(file),
                           doctest::Contains("checksum mismatch"), gale::cluster::ProtocolError);
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    f.launcher.end(1000, ExitStatus::exited(1));  // the worker could not read it
    f.supervisor->supervise();
    CHECK(f.launcher.launched.size() == 2);
    const auto repaired = gale::cluster::read_assignment_file(file);
    CHECK(repaired.assignment.topology_id == "wc-1");
    CHECK(repaired.status == "active");
    CHECK(f.log.str().find(file.string() + " is damaged") != std::string::npos);
    CHECK(f.log.str().find("writing it again") != std::string::npos);
    CHECK(f.slot().last_error.find(file.string() + " is damaged") != std::string::npos);
  }

  TEST_CASE("a slot that moves on to another topology finds its old file intact, not damaged") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 1);
    // wc-1 is killed and wc-2 takes the slot: its file still holds wc-1 until the start.
    f.supervisor->apply_assignments(List{assigned(6700, "wc-2", 1)});
    f.supervisor->supervise();
    f.launcher.end(1000, ExitStatus::exited(0));
    for (int i = 0; i < 10 && f.launcher.launched.size() < 2; ++i) {
      f.supervisor->supervise();
      f.advance(1s);
    }
    REQUIRE(f.launcher.launched.size() == 2);
    const fs::path file = f.dir.path / "workers" / "6700" / "assignment.msgpack";
    CHECK(gale::cluster::read_assignment_file(file).assignment.topology_id == "wc-2");
    CHECK(f.log.str().find("is damaged") == std::string::npos);
    CHECK(f.slot().last_error.empty());
  }

  TEST_CASE("a truncated cached plugin is fetched again, logged, before a worker runs on it") {
    Fixture f;
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 1);
    REQUIRE(f.nimbus.fetches == 1);
    const fs::path plugin = f.dir.path / "plugins" / "wc-1.so";
    fs::resize_file(plugin, k_plugin.size() / 2);
    SUBCASE("the worker crashes on it (SIGBUS) and is restarted on a good copy") {
      f.launcher.end(1000, ExitStatus::killed_by(SIGBUS));
      f.supervisor->supervise();
      CHECK(f.launcher.launched.size() == 2);
    }
    SUBCASE("the next heartbeat's assignment notices it") {
      f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    }
    CHECK(f.nimbus.fetches == 2);
    std::ifstream in(plugin, std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == k_plugin);
    CHECK(f.log.str().find(plugin.string() + " was damaged") != std::string::npos);
    CHECK(f.log.str().find("fetched it again from nimbus") != std::string::npos);
  }

  TEST_CASE("a keep entry (nimbus lost the topology's record) keeps the slot's worker as it is") {
    Fixture f({6700, 6701});
    f.supervisor->apply_assignments(List{assigned(6700, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 1);
    const Value keep = Map{{"port", 6700}, {"topology_id", "wc-1"}, {"keep", true}};
    const Value other = Map{{"port", 6701}, {"topology_id", "wc-2"}, {"keep", true}};
    f.supervisor->apply_assignments(List{keep, other});
    f.supervisor->supervise();
    CHECK(f.launcher.signals.empty());
    CHECK(f.slot().running);
    CHECK(f.slot().version == 1);
    CHECK(f.slot(6701).topology_id.empty());  // nothing of wc-2 ran there: nothing to keep
    CHECK(f.launcher.launched.size() == 1);
  }

  TEST_CASE("a memory-limited worker runs in its cgroup; an OOM kill there is out of memory") {
    gale::testing::FakeCgroupfs cgroupfs;
    auto set_up = gale::supervisor::CgroupTree::set_up(
        cgroupfs.options(), std::make_unique<gale::testing::FakeCgroupFiles>(cgroupfs.root, true));
    REQUIRE_MESSAGE(set_up.tree, set_up.reason);
    Fixture f({6700, 6701}, std::move(set_up.tree));
    const auto limited = [](std::int64_t port, std::int64_t limit_mb) {
      Map m = assigned(port, "wc-1", 1).as_map();
      m["config"] =
          Map{{"topology.workers", Value(1)}, {"topology.worker.memory.limit.mb", Value(limit_mb)}};
      return Value(m);
    };
    f.supervisor->apply_assignments(List{limited(6700, 300), assigned(6701, "wc-1", 1)});
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 2);
    const fs::path cgroup = cgroupfs.own_dir / "workers" / "worker-6700";
    CHECK(f.launcher.launched[0].cgroup_dir == cgroup.string());
    CHECK(f.launcher.launched[0].memory_limit_mb == 300);
    CHECK(gale::testing::FakeCgroupFiles::text_of(cgroup / "memory.max") == "314572800\n");
    // No limit: no cgroup.
    CHECK(f.launcher.launched[1].cgroup_dir.empty());
    CHECK_FALSE(fs::exists(cgroupfs.own_dir / "workers" / "worker-6701"));

    // A SIGKILL that is no OOM kill is a plain crash; the cgroup goes with the worker.
    f.launcher.end(1000, ExitStatus::killed_by(SIGKILL));
    f.supervisor->supervise();
    CHECK(f.slot().last_error.find("worker pid 1000 ended (signal 9)") != std::string::npos);
    CHECK(f.slot().last_error.find("out of memory") == std::string::npos);
    REQUIRE(f.launcher.launched.size() == 3);  // restarted at once, into a new cgroup
    CHECK(f.launcher.launched[2].cgroup_dir == cgroup.string());

    // The kernel's OOM killer ends it: memory.events counts the kill.
    std::ofstream(cgroup / "memory.events", std::ios::trunc) << "oom 1\noom_kill 1\n";
    f.launcher.end(1002, ExitStatus::killed_by(SIGKILL));
    f.supervisor->supervise();
    CHECK(f.slot().last_exit == "signal 9");
    CHECK(f.slot().last_error.find(
              "worker pid 1002 ended (signal 9): out of memory (limit 300 MB)") !=
          std::string::npos);
    CHECK(f.slot().restarts == 2);
    CHECK_FALSE(fs::exists(cgroup));  // removed on the exit

    // Stopping the supervisor removes the tree.
    f.advance(1s);
    f.supervisor->supervise();
    REQUIRE(f.launcher.launched.size() == 4);
    CHECK(fs::exists(cgroup));
    f.launcher.term_ends = true;
    f.supervisor->begin_shutdown();
    f.supervisor->supervise();
    CHECK(f.supervisor->stopped());
    f.supervisor.reset();
    CHECK_FALSE(fs::exists(cgroupfs.own_dir / "workers"));
  }
}  // TEST_SUITE
