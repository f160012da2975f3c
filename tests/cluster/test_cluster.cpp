// Multi-process cluster tests on loopback: nimbus, supervisors and workers as real processes.

#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "tests/cluster/harness.hpp"

using namespace std::chrono_literals;
using gale::test::Cluster;
using gale::test::CommandResult;
using gale::test::eventually;
using gale::test::plugin;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Words counted by cluster_wordcount's count tasks, read from their files.
std::map<std::string, std::int64_t> read_counts(const std::string& dir) {
  std::map<std::string, std::int64_t> counts;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto name = entry.path().filename().string();
    if (name.rfind("count-", 0) != 0 || entry.path().extension() != ".txt") continue;
    std::ifstream f(entry.path());
    std::string w;
    std::int64_t n;
    while (f >> w >> n) counts[w] += n;
  }
  return counts;
}

std::map<std::string, std::int64_t> expected_wordcount(int copies) {
  const char* sentences[] = {"the cow jumped over the moon", "an apple a day keeps the doctor away",
                             "four score and seven years ago", "snow white and the seven dwarfs",
                             "i am at two with nature"};
  std::map<std::string, std::int64_t> counts;
  for (const char* s : sentences) {
    std::istringstream words(s);
    for (std::string w; words >> w;) counts[w] += copies;
  }
  return counts;
}

std::set<std::int64_t> read_ids(const std::string& dir, const std::string& prefix,
                                std::uint64_t* lines = nullptr) {
  std::set<std::int64_t> ids;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(prefix, 0) != 0) continue;
    std::ifstream f(entry.path());
    for (std::int64_t id; f >> id;) {
      ids.insert(id);
      if (lines != nullptr) ++*lines;
    }
  }
  return ids;
}

// Worker logs (one per slot) that say the worker found nimbus gone and runs on without it.
int workers_running_without_nimbus(const Cluster& cluster) {
  int count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cluster.dir())) {
    if (entry.path().filename() != "worker.log") continue;
    std::ifstream f(entry.path());
    std::stringstream text;
    text << f.rdbuf();
    if (contains(text.str(), "does not answer; running on")) ++count;
  }
  return count;
}

// The words of the first line of `text` whose first word begins with `first` (a worker's
// host:port or a component of `gale status`), or none.
std::vector<std::string> row_of(const std::string& text, const std::string& first) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string w; words >> w;) row.push_back(w);
    if (!row.empty() && row[0].rfind(first, 0) == 0) return row;
  }
  return {};
}

// The EMITTED column of a component in `gale status` (human_count: exact below 1000), or -1.
std::int64_t emitted_of(const std::string& status, const std::string& component) {
  const auto row = row_of(status, component);
  return row.size() > 3 ? std::stoll(row[3]) : -1;
}

std::string output_dir(const Cluster& cluster, const std::string& name = "output") {
  std::string dir = cluster.dir() + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

// The topology.id lines cluster_wordcount's count tasks wrote (one per task and incarnation).
std::vector<std::string> read_topology_ids(const std::string& dir) {
  std::vector<std::string> ids;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("topology-id-", 0) != 0) continue;
    std::ifstream f(entry.path());
    for (std::string id; std::getline(f, id);) ids.push_back(id);
  }
  return ids;
}

}  // namespace

TEST_SUITE("cluster_wordcount") {
  TEST_CASE("word count on 4 workers across 2 supervisors gives exact counts; verbs behave") {
    Cluster cluster(2, 2);
    const std::string out = output_dir(cluster);
    const int copies = 300;
    auto submit = cluster.submit(
        plugin("cluster_wordcount"), "wc",
        {"-c", "test.output.dir=" + out, "-c", "test.copies=" + std::to_string(copies)});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);

    auto expected = expected_wordcount(copies);
    bool counted = eventually([&] { return read_counts(out) == expected; }, 90s);
    CHECK(counted);
    if (!counted) MESSAGE("counts so far differ from the expected exact counts");

    auto list = cluster.gale("list");
    INFO(list.output);
    CHECK(list.exit_code == 0);
    CHECK(contains(list.output, "wc"));
    CHECK(contains(list.output, "active"));

    auto status = cluster.gale("status", {"wc"});
    INFO(status.output);
    CHECK(status.exit_code == 0);
    CHECK(contains(status.output, "sup0"));
    CHECK(contains(status.output, "sup1"));
    // The per-component table from the workers' heartbeats: the split and count bolts executed.
    CHECK(contains(status.output, "COMPONENT"));
    CHECK(contains(status.output, "split"));
    CHECK(contains(status.output, "count"));
    CHECK(cluster.workers().size() == 4);

    CHECK(cluster.gale("deactivate", {"wc"}).exit_code == 0);
    CHECK(contains(cluster.gale("status", {"wc"}).output, "inactive"));
    CHECK(cluster.gale("activate", {"wc"}).exit_code == 0);
    CHECK(contains(cluster.gale("status", {"wc"}).output, "active"));

    CHECK(cluster.gale("rebalance", {"wc", "-n", "2"}).exit_code == 0);
    CHECK(eventually([&] { return cluster.workers().size() == 2; }, 30s));

    auto unknown = cluster.gale("kill", {"nope"});
    CHECK(unknown.exit_code != 0);
    CHECK(contains(unknown.output, "nope"));

    CHECK(cluster.gale("kill", {"wc", "--wait", "1"}).exit_code == 0);
    CHECK(eventually([&] { return cluster.workers().empty(); }, 30s));
    CHECK(eventually([&] { return !contains(cluster.gale("list").output, "wc"); }, 30s));
  }
}

TEST_SUITE("cluster_failure") {
  TEST_CASE("200,000 ids survive killed workers, a dead node and a nimbus restart") {
    Cluster cluster(2, 3);
    const std::string out = output_dir(cluster);
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer slows everything down some tenfold: the same failures over fewer ids.
    constexpr int k_ids = 20'000;
#else
    constexpr int k_ids = 200'000;
#endif
    auto submit =
        cluster.submit(plugin("cluster_reliable"), "ids",
                       {"-c", "test.output.dir=" + out, "-c", "test.ids=" + std::to_string(k_ids)});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);
    REQUIRE(eventually([&] { return cluster.workers().size() == 4; }, 30s));

    std::mt19937 rng(20261124);
    auto acked = [&] { return read_ids(out, "acked-").size(); };
    // Three random workers killed at intervals while ids flow.
    for (int kill = 0; kill < 3; ++kill) {
      eventually([&] { return acked() >= static_cast<std::size_t>(20'000 * (kill + 1)); }, 30s);
      auto workers = cluster.workers();
      if (!workers.empty()) {
        auto victim = workers[rng() % workers.size()];
        MESSAGE("killing worker pid " << victim.first << " (port " << victim.second << ")");
        ::kill(victim.first, SIGKILL);
      }
    }
    eventually([&] { return acked() >= 90'000; }, 60s);
    MESSAGE("killing node sup1 with its workers");
    cluster.kill_node(1);
    eventually([&] { return acked() >= 120'000; }, 60s);
    MESSAGE("restarting nimbus");
    cluster.kill_nimbus();
    // Nimbus stays down until a worker has noticed and runs on without it.
    CHECK(eventually([&] { return workers_running_without_nimbus(cluster) >= 1; }, 30s));
    cluster.start_nimbus();

    bool all = eventually([&] { return acked() == k_ids; }, 180s);
    std::uint64_t failures = 0;
    read_ids(out, "failed-", &failures);
    auto ids = read_ids(out, "acked-");
    MESSAGE("acked " << ids.size() << " of " << k_ids << " ids; " << failures
                     << " tuple trees failed and were replayed");
    CHECK(all);
    CHECK(ids.size() == static_cast<std::size_t>(k_ids));
    CHECK(*ids.begin() == 0);
    CHECK(*ids.rbegin() == k_ids - 1);
  }
}

TEST_SUITE("cluster_failure") {
  TEST_CASE("a node cut off while its tasks move: once back, its worker acks no id twice") {
    // Three one-slot supervisors, two workers: the third slot is where nimbus moves the tasks of
    // the node that goes silent. Its worker and supervisor are stopped (SIGSTOP) for longer than
    // nimbus.supervisor.timeout.secs (3 s here), then resumed beside the worker that replaced it.
    Cluster cluster(3, 1);
    const std::string out = output_dir(cluster);
    constexpr int k_ids = 200'000;
    auto submit = cluster.submit(plugin("cluster_reliable"), "ids",
                                 {"-c", "test.output.dir=" + out, "-c",
                                  "test.ids=" + std::to_string(k_ids), "-c", "topology.workers=2"});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);
    REQUIRE(eventually([&] { return cluster.workers().size() == 2; }, 30s));
    auto acked = [&] { return read_ids(out, "acked-").size(); };
    REQUIRE(eventually([&] { return acked() >= 5'000; }, 60s));

    // A node that runs a worker (two of the three do).
    int node = 0;
    while (node < 3 && cluster.signal_node(node, 0).size() != 1) ++node;
    REQUIRE(node < 3);
    std::vector<pid_t> stopped = cluster.signal_node(node, SIGSTOP);
    REQUIRE(stopped.size() == 1);
    // Resumed whatever happens below, so that the cluster's teardown kills a running process.
    struct Resume {
      Cluster& cluster;
      int node;
      ~Resume() { cluster.signal_node(node, SIGCONT); }
    } resume{cluster, node};
    auto version = [&] { return cluster.gale("status", {"ids"}).output; };
    REQUIRE(eventually([&] { return contains(version(), "assignment version 2"); }, 30s));
    // The replacement runs the moved spout task and acks ids of its own.
    REQUIRE(eventually([&] { return cluster.workers().size() == 3; }, 30s));
    const std::size_t before = acked();
    REQUIRE(eventually([&] { return acked() >= before + 2'000; }, 60s));

    cluster.signal_node(node, SIGCONT);
    // The old worker learns it was superseded, fences its spouts and exits.
    auto old_worker_log = [&] {
      std::string text;
      const std::string workers = cluster.dir() + "/sup" + std::to_string(node) + "/workers";
      for (const auto& entry : std::filesystem::recursive_directory_iterator(workers)) {
        if (entry.path().filename() != "worker.log") continue;
        std::ifstream f(entry.path());
        std::stringstream content;
        content << f.rdbuf();
        text += content.str();
      }
      return text;
    };
    CHECK(eventually([&] { return contains(old_worker_log(), "spouts stopped"); }, 15s));
    const pid_t old_worker = stopped.front();
    CHECK(eventually(
        [&] {
          for (const auto& [pid, port] : cluster.workers()) {
            if (pid == old_worker) return false;
          }
          return true;
        },
        15s));
    CHECK(eventually([&] { return acked() == k_ids; }, 120s));

    std::uint64_t lines = 0;
    const auto ids = read_ids(out, "acked-", &lines);
    MESSAGE("acked " << ids.size() << " of " << k_ids << " ids in " << lines << " ack() calls");
    CHECK(ids.size() == static_cast<std::size_t>(k_ids));
    CHECK(lines == ids.size());  // no id acked twice
    if (lines != ids.size()) {
      std::istringstream log(old_worker_log());
      for (std::string line; std::getline(log, line);) {
        for (const char* what : {"hold", "nimbus", "fenced", "heartbeat", "stall"}) {
          if (line.find(what) != std::string::npos) {
            MESSAGE("old worker: " << line);
            break;
          }
        }
      }
    }
  }
}

TEST_SUITE("cluster_state") {
  TEST_CASE("counters of a SIGKILLed worker carry over to its restart; status shows the kill") {
    Cluster cluster(1, 1);
    const std::string out = output_dir(cluster);
    // 20 rounds of the 5 sentences: 100 emitted by the spouts of each worker process.
    auto submit = cluster.submit(
        plugin("cluster_wordcount"), "carry",
        {"-c", "test.output.dir=" + out, "-c", "test.copies=20", "-c", "topology.workers=1"});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);
    CommandResult status;
    REQUIRE(eventually(
        [&] {
          status = cluster.gale("status", {"carry"});
          return emitted_of(status.output, "sentences") == 100;
        },
        60s));
    auto workers = cluster.workers();
    REQUIRE(workers.size() == 1);
    const std::string slot = "127.0.0.1:" + std::to_string(workers[0].second);
    ::kill(workers[0].first, SIGKILL);

    // The supervisor restarts it; status says so, and the counters never go back.
    std::int64_t lowest = 100;
    bool restarted = eventually(
        [&] {
          status = cluster.gale("status", {"carry"});
          lowest = std::min(lowest, emitted_of(status.output, "sentences"));
          const auto row = row_of(status.output, slot);
          return row.size() > 7 && row[2] == "running" &&
                 row[3] != std::to_string(workers[0].first) && contains(status.output, "signal 9");
        },
        60s);
    INFO(status.output);
    CHECK(restarted);
    const auto row = row_of(status.output, slot);
    REQUIRE(row.size() > 7);
    // WORKER SUPERVISOR STATE PID UPTIME(1 or 2 words) RESTARTS LAST EXIT ...
    const std::size_t restarts_at = row[4].find('m') != std::string::npos ? 6 : 5;
    CHECK(row[restarts_at] == "1");
    CHECK(lowest >= 100);
    // The new process emits its 100 too: the total counts both.
    CHECK(eventually(
        [&] {
          status = cluster.gale("status", {"carry"});
          return emitted_of(status.output, "sentences") >= 200;
        },
        60s));
    CHECK(cluster.gale("kill", {"carry", "--wait", "0"}).exit_code == 0);
  }

  TEST_CASE("topology.id: a restarted worker keeps it, a topology submitted again gets a new one") {
    Cluster cluster(1, 1);
    const std::string first_out = output_dir(cluster, "first");
    auto submit = cluster.submit(plugin("cluster_wordcount"), "ids",
                                 {"-c", "test.output.dir=" + first_out, "-c", "test.copies=1", "-c",
                                  "topology.workers=1", "-c", "topology.id=chosen-by-user"});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);
    // Both count tasks started once.
    REQUIRE(eventually([&] { return read_topology_ids(first_out).size() == 2; }, 60s));
    const std::string id = read_topology_ids(first_out)[0];
    INFO("first deployment: " << id);
    CHECK(id.rfind("ids-", 0) == 0);  // nimbus's, not the user's
    CHECK(read_topology_ids(first_out) == std::vector<std::string>{id, id});

    auto workers = cluster.workers();
    REQUIRE(workers.size() == 1);
    ::kill(workers[0].first, SIGKILL);
    // The supervisor restarts the worker: its tasks start again with the same id.
    CHECK(eventually([&] { return read_topology_ids(first_out).size() == 4; }, 60s));
    CHECK(read_topology_ids(first_out) == std::vector<std::string>(4, id));

    REQUIRE(cluster.gale("kill", {"ids", "--wait", "0"}).exit_code == 0);
    REQUIRE(eventually([&] { return !contains(cluster.gale("list").output, "ids"); }, 60s));
    const std::string second_out = output_dir(cluster, "second");
    submit = cluster.submit(
        plugin("cluster_wordcount"), "ids",
        {"-c", "test.output.dir=" + second_out, "-c", "test.copies=1", "-c", "topology.workers=1"});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);
    REQUIRE(eventually([&] { return read_topology_ids(second_out).size() == 2; }, 60s));
    const std::string second = read_topology_ids(second_out)[0];
    CHECK(second.rfind("ids-", 0) == 0);
    CHECK(second != id);
    CHECK(read_topology_ids(second_out) == std::vector<std::string>{second, second});
    CHECK(cluster.gale("kill", {"ids", "--wait", "0"}).exit_code == 0);
  }

  TEST_CASE("nimbus recovers topologies and assignments after a restart") {
    Cluster cluster(1, 2);
    const std::string out = output_dir(cluster);
    auto submit = cluster.submit(plugin("cluster_wordcount"), "keep",
                                 {"-c", "test.output.dir=" + out, "-c", "topology.workers=2"});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);
    REQUIRE(eventually([&] { return cluster.workers().size() == 2; }, 30s));
    auto before = cluster.workers();
    auto status_before = cluster.gale("status", {"keep"});
    cluster.kill_nimbus();
    // Running topologies keep running while nimbus is down: both workers notice that nimbus
    // does not answer (after a heartbeat period) and neither is stopped, restarted or moved.
    CHECK(eventually([&] { return workers_running_without_nimbus(cluster) == 2; }, 30s));
    CHECK(cluster.workers() == before);
    cluster.start_nimbus();
    CommandResult list;
    CHECK(eventually(
        [&] {
          list = cluster.gale("list");
          return list.exit_code == 0 && contains(list.output, "keep");
        },
        30s));
    auto status_after = cluster.gale("status", {"keep"});
    INFO(status_after.output);
    CHECK(status_after.exit_code == 0);
    for (auto [pid, port] : before) CHECK(contains(status_after.output, std::to_string(port)));
    CHECK(cluster.workers() == before);  // nobody was restarted or moved
    CHECK(contains(cluster.gale("submit", {plugin("cluster_wordcount"), "--name", "keep"}).output,
                   "keep"));  // still known: a duplicate name is refused
  }
}

TEST_SUITE("cluster_bad_input") {
  TEST_CASE("garbage on the nimbus port gets errors or is dropped; nimbus keeps serving") {
    Cluster cluster(1, 1);
    REQUIRE(eventually([&] { return cluster.gale("list").exit_code == 0; }, 30s));
    zmq::context_t context;
    std::mt19937 rng(7);
    const std::string endpoint = "tcp://" + cluster.nimbus_address();
    for (int i = 0; i < 50; ++i) {
      zmq::socket_t req(context, zmq::socket_type::req);
      req.set(zmq::sockopt::linger, 0);
      req.set(zmq::sockopt::rcvtimeo, 2000);
      req.connect(endpoint);
      std::string junk(static_cast<std::size_t>(rng() % 200), '\0');
      for (char& c : junk) c = static_cast<char>(rng());
      if (i % 5 == 0) junk = "\x93\x01\xa6submit\x81\xa4name\xc0";  // [1, "submit", {name: nil}]
      if (i % 5 == 1) junk = "\x93\x02\xa4list\x80";                // another protocol version
      req.send(zmq::buffer(junk), zmq::send_flags::none);
      zmq::message_t reply;
      (void)req.recv(reply);  // an error reply, or nothing: both fine
    }
    // Raw TCP garbage that is not even ZMTP.
    auto list = cluster.gale("list");
    INFO(list.output);
    CHECK(list.exit_code == 0);
  }

  TEST_CASE("submit: a file that is not a plugin gives one clear error, a misspelt key a warning") {
    Cluster cluster(1, 1);
    auto r = cluster.gale("submit", {plugin("not_a_library"), "--name", "bad"});
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(contains(r.output, "not a loadable shared library"));
    auto missing = cluster.gale("submit", {cluster.dir() + "/nope.so", "--name", "bad"});
    CHECK(missing.exit_code != 0);
    CHECK(contains(missing.output, "nope.so"));
    // A misspelt key set by the plugin's build function, which runs in nimbus, is reported by the
    // submitting command; the topology is still accepted.
    auto warned = cluster.submit(plugin("good_plugin"), "good", {"-c", "topology.workers=1"});
    INFO(warned.output);
    CHECK(warned.exit_code == 0);
    CHECK(contains(warned.output,
                   "unknown config key 'topology.tick.tuple.freq.sec' (did you "
                   "mean 'topology.tick.tuple.freq.secs'?)"));
  }

  TEST_CASE("a plugin that crashes its worker is restarted and the crash shows in status") {
    Cluster cluster(1, 1);
    auto r = cluster.submit(plugin("crashing_plugin"), "crashy");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer catches the SIGSEGV, prints its report and exits with status 1.
    const std::string crash = "(exit 1)";
#elif defined(__SANITIZE_THREAD__)
    // ThreadSanitizer does the same with its exit status, 66.
    const std::string crash = "(exit 66)";
#else
    const std::string crash = "signal 11";
#endif
    CommandResult status;
    bool shown = eventually(
        [&] {
          status = cluster.gale("status", {"crashy"});
          return contains(status.output, crash);
        },
        60s);
    INFO(status.output);
    CHECK(shown);
    // Crashing again and again, it waits out a growing back-off: status shows that rather than a
    // live worker, with the crash count.
    bool restarting = eventually(
        [&] {
          status = cluster.gale("status", {"crashy"});
          const auto row = row_of(status.output, "127.0.0.1:");
          // WORKER SUPERVISOR STATE PID UPTIME RESTARTS ...; no pid or uptime while restarting.
          return row.size() > 5 && row[2] == "restarting" && row[3] == "-" && row[4] == "-" &&
                 std::stoll(row[5]) >= 2;
        },
        60s);
    INFO(status.output);
    CHECK(restarting);
    CHECK(contains(status.output, crash));
    CHECK(cluster.gale("kill", {"crashy", "--wait", "0"}).exit_code == 0);
  }

  TEST_CASE("a worker over topology.worker.memory.limit.mb ends out of memory and is restarted") {
    Cluster cluster(1, 1);
    auto r = cluster.submit(plugin("leaking_plugin"), "leaky",
                            {"-c", "topology.worker.memory.limit.mb=300"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CommandResult status;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // RLIMIT_AS cannot work under AddressSanitizer or ThreadSanitizer: the supervisor says the
    // limit is not enforced (and the bolt stops leaking at test.leak.max.mb).
    CHECK(eventually(
        [&] {
          std::ifstream log(cluster.dir() + "/sup0.out");
          std::stringstream text;
          text << log.rdbuf();
          return contains(text.str(), "topology.worker.memory.limit.mb = 300 is not enforced");
        },
        60s));
#else
    // The supervisor says at its start which path it uses: a cgroup whose OOM killer ends the
    // worker with SIGKILL, or RLIMIT_AS, whose bad_alloc makes it exit 6 (this machine runs
    // cgroup v1, or no delegated cgroup v2 subtree).
    std::string path_line;
    CHECK(eventually(
        [&] {
          std::ifstream log(cluster.dir() + "/sup0.out");
          for (std::string line; std::getline(log, line);) {
            if (contains(line, "memory limits: ")) path_line = line;
          }
          return !path_line.empty();
        },
        30s));
    INFO(path_line);
    const std::string exit =
        contains(path_line, "memory limits: cgroup v2 memory.max") ? "signal 9" : "exit 6";
    if (exit == "exit 6") CHECK(contains(path_line, "memory limits: RLIMIT_AS ("));
    bool shown = eventually(
        [&] {
          status = cluster.gale("status", {"leaky"});
          const auto row = row_of(status.output, "127.0.0.1:");
          return contains(status.output, "(" + exit + "): out of memory (limit 300 MB)") &&
                 row.size() > 5 && row[2] != "unknown";
        },
        90s);
    INFO(status.output);
    CHECK(shown);
    // And it is restarted, with the out-of-memory exit as its last.
    CHECK(eventually(
        [&] {
          status = cluster.gale("status", {"leaky"});
          return contains(status.output, exit) && !cluster.workers().empty();
        },
        60s));
#endif
    CHECK(cluster.gale("kill", {"leaky", "--wait", "0"}).exit_code == 0);
  }
}
