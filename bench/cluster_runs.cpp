#include "bench/cluster_runs.hpp"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/local_runs.hpp"
#include "bench/probe.hpp"
#include "bench/scenarios.hpp"
#include "bench/topologies.hpp"

#ifndef GALE_EXE
#error "GALE_EXE must name the gale executable"
#endif

namespace gale::bench {

namespace {

using namespace std::chrono_literals;

// The component lists of the running workers in `gale status` output (WORKER SUPERVISOR STATE
// ...), e.g. {"count,spout", ...}.
// The uptime column may hold a space ("1m 02s"), so the components are found by their names.
std::vector<std::string> alive_placement(const std::string& status) {
  const std::set<std::string> names{std::string(k_spout), std::string(k_split),
                                    std::string(k_count), "__acker"};
  std::vector<std::string> placement;
  std::istringstream lines(status);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> tokens;
    for (std::string w; words >> w;) tokens.push_back(w);
    if (tokens.size() < 4 || tokens[0].find(':') == std::string::npos || tokens[2] != "running") {
      continue;
    }
    for (const std::string& token : tokens) {
      std::istringstream parts(token);
      bool all_known = true;
      for (std::string part; std::getline(parts, part, ',');) all_known &= names.count(part) > 0;
      if (all_known) {
        placement.push_back(token);
        break;
      }
    }
  }
  return placement;
}

// Batches and bytes sent in the last "data transport stopped: N batches (B bytes) sent" line of a
// worker log written after `offset`.
std::optional<std::pair<double, double>> transport_totals(const std::string& log,
                                                          std::uintmax_t offset) {
  std::ifstream in(log);
  in.seekg(static_cast<std::streamoff>(offset));
  std::optional<std::pair<double, double>> totals;
  const std::string marker = "data transport stopped: ";
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find(marker);
    if (at == std::string::npos) continue;
    double batches = 0, bytes = 0;
    if (std::sscanf(line.c_str() + at + marker.size(), "%lf batches (%lf bytes) sent", &batches,
                    &bytes) == 2) {
      totals = std::make_pair(batches, bytes);
    }
  }
  return totals;
}

bool has(const std::string& components, std::string_view name) {
  std::istringstream parts(components);
  for (std::string part; std::getline(parts, part, ',');) {
    if (part == name) return true;
  }
  return false;
}

// The daemons and workers log at info, so that each worker logs its transport totals at stop.
// Returns the previous GALE_LOG_LEVEL ("" when unset), which restore_logging puts back.
std::string info_logging() {
  const char* previous = std::getenv("GALE_LOG_LEVEL");
  std::string saved = previous == nullptr ? "" : previous;
  setenv("GALE_LOG_LEVEL", "info", 1);
  return saved;
}

void restore_logging(const std::string& saved) {
  if (saved.empty()) {
    unsetenv("GALE_LOG_LEVEL");
  } else {
    setenv("GALE_LOG_LEVEL", saved.c_str(), 1);
  }
}

}  // namespace

BenchCluster::BenchCluster(std::string plugin)
    : saved_log_level_(info_logging()),
      plugin_(std::move(plugin)),
      // Generous timeouts: a saturated 2-core machine must not make anyone look dead.
      cluster_({.gale = GALE_EXE,
                .supervisors = 1,
                .slots = 2,
                .config = {{"nimbus.supervisor.timeout.secs", "30"},
                           {"supervisor.worker.timeout.secs", "30"}}}) {
  restore_logging(saved_log_level_);  // the daemons have theirs; workers inherit the supervisor's
}

ClusterRun BenchCluster::run(const ClusterRunOptions& options) {
  const std::string name = "bench-" + std::to_string(++next_);
  const std::string stats_dir = cluster_.dir() + "/" + name;
  std::filesystem::create_directories(stats_dir);
  std::vector<std::string> args{
      "-c", "topology.workers=2",
      "-c", std::string("topology.acker.executors=") + (options.acking ? "1" : "0"),
      "-c", std::string(k_stats_dir) + "=" + stats_dir};
  if (options.acking && options.max_pending > 0) {
    args.insert(args.end(),
                {"-c", "topology.max.spout.pending=" + std::to_string(options.max_pending)});
  }
  if (options.rate > 0) {
    args.insert(args.end(), {"-c", std::string(k_rate) + "=" + number_text(options.rate)});
  }
  if (options.idle) args.insert(args.end(), {"-c", std::string(k_idle) + "=true"});

  const cluster::CommandResult submitted = cluster_.submit(plugin_, name, args);
  if (submitted.exit_code != 0) {
    throw std::runtime_error("gale submit failed: " + submitted.output);
  }
  // Whatever happens from here on, the topology is killed and its workers are gone at the end.
  struct Teardown {
    BenchCluster& self;
    std::string name;
    bool done = false;
    void operator()() {
      done = true;
      self.cluster_.gale("kill", {name, "--wait", "0"}, 10s);
      auto gone = [&] { return self.cluster_.workers().empty(); };
      if (!cluster::eventually(gone, 20s)) {
        for (auto [pid, port] : self.cluster_.workers()) ::kill(pid, SIGKILL);
        cluster::eventually(gone, 5s);
      }
    }
    ~Teardown() {
      try {
        if (!done) (*this)();
      } catch (const std::exception&) {
        // The cluster kills whatever is left when it goes.
      }
    }
  } teardown{*this, name};

  ClusterRun run;
  std::string last_status;
  const bool ready = cluster::eventually(
      [&] {
        last_status = cluster_.gale("status", {name}, 10s).output;
        run.placement = alive_placement(last_status);
        if (run.placement.size() != 2) return false;
        std::set<std::string> published;
        for (const auto& s : read_published(stats_dir)) published.insert(s.component);
        return published.count(std::string(k_spout)) && published.count(std::string(k_split)) &&
               published.count(std::string(k_count));
      },
      30s);
  if (!ready) {
    throw std::runtime_error("the topology did not run on two workers within 30 s; last status:\n" +
                             last_status);
  }
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string& here = run.placement[i];
    const std::string& there = run.placement[1 - i];
    if (has(here, k_spout) && has(here, k_count) && has(there, k_split) && !has(here, k_split)) {
      run.crossing = true;
    }
  }

  std::this_thread::sleep_for(std::chrono::duration<double>(options.warmup_s));
  const auto workers = cluster_.workers();
  if (workers.size() != 2) {
    throw std::runtime_error("expected 2 worker processes, found " +
                             std::to_string(workers.size()));
  }
  std::vector<double> cpu_before;
  for (auto [pid, port] : workers) cpu_before.push_back(process_cpu_seconds(pid));
  const auto before = read_published(stats_dir);
  const double busy_before = machine_busy_seconds();
  const auto from = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(options.duration_s));
  const auto after = read_published(stats_dir);
  const double busy = machine_busy_seconds() - busy_before;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();

  Figures& f = run.figures;
  f = window_figures(Shape::wordcount, before, after);
  double cpu_total = 0, cpu_max = 0, rss_max = 0, hwm_max = 0;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    const pid_t pid = workers[i].first;
    const double cpu = process_cpu_seconds(pid) - cpu_before[i];
    cpu_total += cpu;
    cpu_max = std::max(cpu_max, cpu);
    const double hwm = status_mb(pid, "VmHWM");
    f["hwm_mb_" + std::to_string(i + 1)] = hwm;
    hwm_max = std::max(hwm_max, hwm);
    rss_max = std::max(rss_max, status_mb(pid, "VmRSS"));
  }
  f["cpu_cores"] = cpu_total / wall;
  f["other_cores"] = std::max(0.0, busy - cpu_total) / wall;
  f["per_cpu_s"] = f["sink_rate"] * wall / cpu_total;
  f["hwm_mb"] = hwm_max;
  if (options.idle) {
    f["cpu_pct"] = 100 * cpu_max / wall;
    f["rss_mb"] = rss_max;
  }
  f["crossing"] = run.crossing ? 1 : 0;

  // The transport's totals, logged by each worker when it stops (whole run, warm-up included).
  std::vector<std::pair<std::string, std::uintmax_t>> logs;
  for (auto [pid, port] : workers) {
    const std::string log = slot_dir(port) + "/worker.log";
    std::error_code ec;
    const auto size = std::filesystem::file_size(log, ec);
    logs.emplace_back(log, ec ? 0 : size);
  }
  teardown();
  double batches = 0, bytes = 0;
  for (const auto& [log, offset] : logs) {
    if (auto totals = transport_totals(log, offset)) {
      batches += totals->first;
      bytes += totals->second;
    }
  }
  if (batches > 0) {
    f["wire_batches"] = batches;
    f["wire_bytes_per_batch"] = bytes / batches;
  }
  return run;
}

std::string BenchCluster::slot_dir(int port) const {
  return cluster_.dir() + "/sup0/workers/" + std::to_string(port);
}

}  // namespace gale::bench
