// Multi-process tests of the daemons' own faults: a second daemon on a state directory, logs of a
// SIGKILLed daemon, a plugin check that never ends, damaged state on disk. Real nimbus,
// supervisors and workers on loopback (tests/cluster/harness.hpp).

#include <doctest/doctest.h>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/harness.hpp"
#include "tests/support/support.hpp"

using namespace std::chrono_literals;
using gale::test::Cluster;
using gale::test::CommandResult;
using gale::test::eventually;
using gale::test::free_port;
using gale::test::plugin;
using gale::test::run_gale;

namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  return args;
}

// The parent pid and state letter of a process; {0, '?'} when it is gone.
std::pair<pid_t, char> stat_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return {0, '?'};
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return {0, '?'};
  std::istringstream rest(stat.substr(paren + 2));
  char state = '?';
  long ppid = 0;
  rest >> state >> ppid;
  return {static_cast<pid_t>(ppid), state};
}

bool alive(pid_t pid) {
  const char state = stat_of(pid).second;
  return state != '?' && state != 'Z';
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return pids;
}

// Children (zombies included) of `parent`.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    if (stat_of(pid).first == parent) out.push_back(pid);
  }
  return out;
}

// The daemon `verb` ("nimbus", "supervisor") this test started with `state_dir`, or 0.
pid_t daemon_pid(const std::string& verb, const std::string& state_dir) {
  for (pid_t pid : children_of(::getpid())) {
    const auto args = cmdline(pid);
    if (args.size() > 1 && args[1] == verb &&
        std::find(args.begin(), args.end(), state_dir) != args.end()) {
      return pid;
    }
  }
  return 0;
}

std::string output_dir(const Cluster& cluster) {
  std::string dir = cluster.dir() + "/output";
  fs::create_directories(dir);
  return dir;
}

// Submits cluster_wordcount as "wc" on two workers; returns them once both run.
std::vector<std::pair<pid_t, int>> run_wordcount(Cluster& cluster) {
  const std::string out = output_dir(cluster);
  auto submit = cluster.submit(plugin("cluster_wordcount"), "wc",
                               {"-c", "test.output.dir=" + out, "-c", "topology.workers=2"});
  INFO(submit.output);
  REQUIRE(submit.exit_code == 0);
  REQUIRE(eventually([&] { return cluster.workers().size() == 2; }, 30s));
  return cluster.workers();
}

bool list_works(Cluster& cluster) { return cluster.gale("list").exit_code == 0; }

}  // namespace

TEST_SUITE("cluster_daemon_faults") {
  TEST_CASE("a second supervisor on the same state dir refuses to start; the workers live on") {
    Cluster cluster(1, 2);
    const auto before = run_wordcount(cluster);
    const std::string state_dir = cluster.dir() + "/sup0";
    const pid_t first = daemon_pid("supervisor", state_dir);
    REQUIRE(first > 0);

    auto second =
        run_gale({"supervisor", "--nimbus", cluster.nimbus_address(), "--host", "127.0.0.1",
                  "--ports", std::to_string(free_port()), "--id", "twin", "--state-dir", state_dir},
                 20s);
    INFO(second.output);
    CHECK(second.exit_code != 0);
    CHECK(lines_of(second.output).size() == 1);
    CHECK(contains(second.output, state_dir));
    CHECK(contains(second.output, "pid " + std::to_string(first)));
    CHECK(cluster.workers() == before);
    CHECK(alive(first));
  }

  TEST_CASE("a second nimbus on the same state dir refuses to start and changes nothing") {
    Cluster cluster(1, 1);
    REQUIRE(eventually([&] { return list_works(cluster); }, 30s));
    const std::string state_dir = cluster.dir() + "/nimbus";
    const pid_t first = daemon_pid("nimbus", state_dir);
    REQUIRE(first > 0);
    const fs::path marker = fs::path(state_dir) / "tmp" / "marker";
    std::ofstream(marker) << "kept";

    const std::string port =
        cluster.nimbus_address().substr(cluster.nimbus_address().find(':') + 1);
    for (const std::string& p : {std::to_string(free_port()), port}) {
      CAPTURE(p);
      auto second =
          run_gale({"nimbus", "--host", "127.0.0.1", "--port", p, "--state-dir", state_dir}, 20s);
      INFO(second.output);
      CHECK(second.exit_code != 0);
      CHECK(lines_of(second.output).size() == 1);
      CHECK(contains(second.output, state_dir));
      CHECK(contains(second.output, "pid " + std::to_string(first)));
      CHECK(fs::exists(marker));
    }
    CHECK(list_works(cluster));
  }

  TEST_CASE("a SIGKILLed daemon's info lines are in its log file, in the one log format") {
    Cluster cluster(1, 1);
    REQUIRE(eventually(
        [&] { return contains(read_text(cluster.dir() + "/nimbus.out"), "supervisor 'sup0'"); },
        30s));
    REQUIRE(eventually(
        [&] { return contains(read_text(cluster.dir() + "/sup0.out"), "offers 1 slots"); }, 30s));
    cluster.kill_nimbus();
    cluster.kill_node(0);

    const std::string nimbus_log = read_text(cluster.dir() + "/nimbus/nimbus.log");
    const std::string supervisor_log = read_text(cluster.dir() + "/sup0/supervisor.log");
    INFO(nimbus_log);
    INFO(supervisor_log);
    CHECK(contains(nimbus_log, "nimbus serving on"));
    CHECK(contains(nimbus_log, "supervisor 'sup0'"));
    CHECK(contains(supervisor_log, "offers 1 slots"));

    // One format in the files and on stderr: "2026-01-02 03:04:05.678 info [supervisor] text".
    const std::regex format(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [a-z]+ \[[a-z]+\] .*)");
    for (const std::string file :
         {"/nimbus/nimbus.log", "/sup0/supervisor.log", "/nimbus.out", "/sup0.out"}) {
      for (const std::string& line : lines_of(read_text(cluster.dir() + file))) {
        CAPTURE(file);
        CAPTURE(line);
        CHECK(std::regex_match(line, format));
      }
    }
  }

  TEST_CASE("a plugin check that never ends is killed and reaped after its time limit") {
    Cluster cluster(1, 1, {{"nimbus.plugin.check.timeout.secs", "2"}});
    REQUIRE(eventually([&] { return list_works(cluster); }, 30s));
    const pid_t nimbus = daemon_pid("nimbus", cluster.dir() + "/nimbus");
    REQUIRE(nimbus > 0);
    auto r = cluster.gale("submit", {plugin("blocking_plugin"), "--name", "stuck"}, 60s);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(contains(r.output, "plugin check of topology 'stuck' did not finish within 2 s"));
    CHECK(children_of(nimbus).empty());
    CHECK(list_works(cluster));
  }

  TEST_CASE("the plugin check dies with a SIGKILLed nimbus") {
    Cluster cluster(1, 1, {{"nimbus.plugin.check.timeout.secs", "600"}});
    REQUIRE(eventually([&] { return list_works(cluster); }, 30s));
    const pid_t nimbus = daemon_pid("nimbus", cluster.dir() + "/nimbus");
    REQUIRE(nimbus > 0);
    std::thread submit([&] {
      run_gale({"submit", "--nimbus", cluster.nimbus_address(), plugin("blocking_plugin"), "--name",
                "stuck"},
               30s);
    });
    pid_t check = 0;
    CHECK(eventually(
        [&] {
          auto children = children_of(nimbus);
          if (!children.empty()) check = children.front();
          return check > 0;
        },
        30s));
    cluster.kill_nimbus();
    if (check > 0) CHECK(eventually([&] { return !alive(check); }, 10s));
    submit.join();
  }

  TEST_CASE("a corrupt meta.msgpack at nimbus restart keeps the topology running; kill works") {
    Cluster cluster(1, 2);
    const auto before = run_wordcount(cluster);

    cluster.kill_nimbus();
    fs::path topology;
    for (const auto& e : fs::directory_iterator(cluster.dir() + "/nimbus/topologies")) {
      topology = e.path();
    }
    REQUIRE(!topology.empty());
    std::ofstream(topology / "meta.msgpack", std::ios::trunc) << "\x91\x8f not a record";
    cluster.start_nimbus();

    CommandResult list;
    CHECK(eventually(
        [&] {
          list = cluster.gale("list");
          return contains(list.output, "wc") && contains(list.output, "damaged");
        },
        30s));
    INFO(list.output);
    CHECK(contains(list.output, "meta.msgpack is damaged"));
    // Once the supervisor has reported the topology's slots (and got its answer), status shows
    // them.
    CommandResult status;
    CHECK(eventually(
        [&] {
          status = cluster.gale("status", {"wc"});
          return contains(status.output, std::to_string(before[0].second)) &&
                 contains(status.output, std::to_string(before[1].second));
        },
        30s));
    INFO(status.output);
    CHECK(contains(status.output, "only `gale kill` works on it"));
    // Several heartbeats later the workers still run, untouched.
    CHECK_FALSE(eventually([&] { return cluster.workers() != before; }, 4s));
    bool kept_aside = false;
    for (const auto& e : fs::directory_iterator(topology)) {
      kept_aside = kept_aside || e.path().filename().string().starts_with("meta.msgpack.damaged-");
    }
    CHECK(kept_aside);

    auto kill = cluster.gale("kill", {"wc", "--wait", "0"});
    INFO(kill.output);
    CHECK(kill.exit_code == 0);
    CHECK(eventually([&] { return cluster.workers().empty(); }, 30s));
    CHECK(eventually([&] { return !contains(cluster.gale("list").output, "wc"); }, 30s));
  }
}
