// Event-time windows across processes: the cluster_event_windows topology (tests/plugins/) on two
// workers of a local cluster gives exactly the windows it gives in the test kit, and both are the
// windows the test computes from the events it knows the spouts emit.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <gale/config.hpp>
#include <gale/testing.hpp>

#include "plugin/loader.hpp"
#include "tests/cluster/harness.hpp"
#include "tests/plugins/cluster_event_windows.hpp"

using namespace std::chrono_literals;
using gale::test::Cluster;
using gale::test::eventually;
using gale::test::plugin;

namespace {

namespace ew = gale::test::event_windows;

// The lines of the files in `dir` whose names begin with `prefix`, sorted.
std::vector<std::string> read_lines(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> lines;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(prefix, 0) != 0) continue;
    std::ifstream f(entry.path());
    for (std::string line; std::getline(f, line);) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The sink's lines: one per window result, and one per late tuple.
std::vector<std::string> window_lines(const std::string& dir) {
  return read_lines(dir, "windows-");
}

// What the sink must write, from the events: every event is in its windows (none is late: each is
// less than the lag behind the events before it), and each window of a key fires once, with the
// count of its events; windows without events of a key give no line for it.
std::vector<std::string> expected_window_lines() {
  std::map<std::tuple<std::string, std::string, std::int64_t>, std::int64_t> counts;  // by end
  for (int task = 0; task < ew::k_spout_tasks; ++task) {
    for (std::int64_t i = 0; i < ew::k_events_per_task; ++i) {
      const ew::Event e = ew::event(task, i);  // e.ts > 0: / rounds down
      ++counts[{"tumbling", e.key, (e.ts / ew::k_length_ms + 1) * ew::k_length_ms}];
      for (std::int64_t end = (e.ts / ew::k_sliding_ms + 1) * ew::k_sliding_ms;
           end - ew::k_length_ms <= e.ts; end += ew::k_sliding_ms) {
        ++counts[{"sliding", e.key, end}];
      }
    }
  }
  std::vector<std::string> lines;
  for (const auto& [window, n] : counts) {
    const auto& [bolt, key, end] = window;
    lines.push_back(bolt + " " + key + " " + std::to_string(end - ew::k_length_ms) + " " +
                    std::to_string(end) + " " + std::to_string(n));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The lines of `a` (sorted) that are not in `b` (sorted), one a line: for a failure's message.
std::string missing_from(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> only;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only));
  std::string text;
  for (const std::string& line : only) text += "  " + line + "\n";
  return text.empty() ? "  (none)\n" : text;
}

std::string output_dir(const Cluster& cluster, const std::string& name) {
  std::string dir = cluster.dir() + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_SUITE("cluster_windows") {
  TEST_CASE(
      "a windowed topology run on 2 workers of a local cluster gives the same windows as in "
      "local mode") {
    const std::vector<std::string> expected = expected_window_lines();
    const std::size_t events = ew::k_spout_tasks * ew::k_events_per_task;
    // Events from 0.6 s to 42.7 s: 5 tumbling windows and 10 sliding ones, each with every key.
    REQUIRE(expected.size() == (5 + 10) * ew::k_keys.size());
    Cluster cluster(2, 1);

    // Local mode first, in the test kit on simulated time, while the supervisors register: 400
    // events per spout task at 200 a second, 2 s of the clock, then a watermark tick.
    const std::string local = output_dir(cluster, "local");
    {
      gale::Config given;
      given.set("test.output.dir", local);
      const gale::plugin::LoadedPlugin loaded =
          gale::plugin::load_plugin(plugin("cluster_event_windows"), given);
      gale::testing::RunOptions options;
      options.config = loaded.config;
      gale::testing::TrackedTopology run(loaded.topology, options);
      run.wait_idle();
      const auto done = [&] {
        return run.pending_trees() == 0 && read_lines(local, "acked-").size() >= events;
      };
      for (int step = 0; step < 100 && !done(); ++step) run.advance_time(100ms);
      CHECK(run.pending_trees() == 0);
      const gale::testing::CompletedTopology result = run.result();
      run.stop();
      CHECK(result.counts("events").acked == events);
      CHECK(result.counts("events").failed == 0);
      CHECK(result.counts("tumbling").errors == 0);
      CHECK(result.counts("sliding").errors == 0);
    }
    const std::vector<std::string> local_lines = window_lines(local);
    CHECK(local_lines == expected);
    if (local_lines != expected) {
      MESSAGE("local mode: expected but not written:\n"
              << missing_from(expected, local_lines) << "written but not expected:\n"
              << missing_from(local_lines, expected));
    }
    CHECK(read_lines(local, "failed-").empty());

    const std::string out = output_dir(cluster, "cluster");
    auto submit = cluster.submit(plugin("cluster_event_windows"), "windows",
                                 {"-c", "test.output.dir=" + out});
    INFO(submit.output);
    REQUIRE(submit.exit_code == 0);
    CHECK(eventually([&] { return cluster.workers().size() == 2; }, 30s));
    // Every tree done (acked, or failed: a timeout), so every window fired and reached the sink.
    const bool done = eventually(
        [&] {
          return read_lines(out, "acked-").size() + read_lines(out, "failed-").size() >= events;
        },
        120s);
    CHECK(done);
    const std::vector<std::string> acked = read_lines(out, "acked-");
    CHECK(acked.size() == events);
    CHECK(read_lines(out, "failed-").empty());
    const std::vector<std::string> cluster_lines = window_lines(out);
    CHECK(cluster_lines == local_lines);
    CHECK(cluster_lines == expected);
    if (cluster_lines != expected) {
      MESSAGE("cluster: expected but not written:\n"
              << missing_from(expected, cluster_lines) << "written but not expected:\n"
              << missing_from(cluster_lines, expected) << "(GALE_KEEP_TEST_DIR=1 keeps " << out
              << ")");
    }
    CHECK(cluster.gale("kill", {"windows", "--wait", "0"}).exit_code == 0);
  }
}
