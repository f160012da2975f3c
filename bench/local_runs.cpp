#include "bench/local_runs.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>

#include <gale/config.hpp>

#include "worker/acker.hpp"
#include "worker/worker.hpp"

namespace gale::bench {

namespace {

void sleep_s(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

gale::Config base_config(const char* name, bool acking) {
  gale::Config config;
  config.set(gale::keys::topology_name, std::string("bench-") + name);
  config.set(gale::keys::topology_acker_executors, acking ? 1 : 0);
  return config;
}

}  // namespace

Figures window_figures(Shape shape, const std::vector<ProbeSnapshot>& before,
                       const std::vector<ProbeSnapshot>& after) {
  const WindowFigures spout = window(before, after, k_spout);
  const WindowFigures sink = window(before, after, sink_of(shape));
  if (spout.tasks == 0 || sink.tasks == 0) {
    throw std::runtime_error("no probe figures from the spout or the sink in the window");
  }
  Figures f;
  f["seconds"] = sink.seconds;
  f["sink_rate"] = sink.rate;
  f["spout_rate"] = spout.rate;
  if (spout.acked > 0 || spout.failed > 0) {
    f["acked_rate"] = static_cast<double>(spout.acked) / spout.seconds;
    f["failed"] = static_cast<double>(spout.failed);
    const Percentiles p = percentiles(spout.latency_ns);
    f["lat_count"] = static_cast<double>(p.count);
    f["p50_ms"] = p.p50 / 1e6;
    f["p99_ms"] = p.p99 / 1e6;
    f["p999_ms"] = p.p999 / 1e6;
    f["max_ms"] = p.max / 1e6;
  }
  return f;
}

Figures run_local(const LocalRunOptions& options) {
  gale::Config config = base_config(name_of(options.shape), options.acking);
  if (options.acking && options.max_pending > 0) {
    config.set(gale::keys::topology_max_spout_pending, options.max_pending);
  }
  if (options.rate > 0) config.set(k_rate, options.rate);
  for (const std::string& assignment : options.overrides) config.set_from_string(assignment);
  gale::worker::Worker worker(topology(options.shape), config);
  worker.start();
  sleep_s(options.warmup_s);
  const auto before = registered_snapshots();
  const double cpu_before = self_cpu_seconds();
  const double busy_before = machine_busy_seconds();
  sleep_s(options.duration_s);
  const auto after = registered_snapshots();
  const double cpu = self_cpu_seconds() - cpu_before;
  const double busy = machine_busy_seconds() - busy_before;
  Figures f = window_figures(options.shape, before, after);
  f["hwm_mb"] = status_mb(::getpid(), "VmHWM");
  f["cpu_cores"] = cpu / f["seconds"];
  f["other_cores"] = std::max(0.0, busy - cpu) / f["seconds"];
  f["per_cpu_s"] = f["sink_rate"] * f["seconds"] / cpu;
  f["heap_mb"] = heap_bytes() / 1e6;
  if (options.shape == Shape::window_tuples) {
    f["peak_window_tuples"] = static_cast<double>(peak_window_tuples());
  }
  worker.stop(std::chrono::milliseconds(500));
  return f;
}

Figures run_pending_memory(std::int64_t trees) {
  gale::Config config = base_config("pending-memory", true);
  config.set(gale::keys::topology_max_spout_pending, trees);
  config.set(gale::keys::topology_message_timeout_secs, 3600);
  config.set(k_sink_acks, false);
  gale::worker::Worker worker(topology(Shape::noop), config);
  worker.start();
  // Wait until the spout is at max pending and everything it emitted was processed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::uint64_t emitted = 0;
  int quiet_rounds = 0;
  while (quiet_rounds < 3) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("pending trees did not settle within 30 s");
    }
    sleep_s(0.1);
    std::uint64_t now_emitted = 0;
    for (const auto& s : registered_snapshots()) {
      if (s.component == k_spout) now_emitted += s.count;
    }
    const bool settled = now_emitted >= static_cast<std::uint64_t>(trees) &&
                         now_emitted == emitted && worker.quiescent();
    quiet_rounds = settled ? quiet_rounds + 1 : 0;
    emitted = now_emitted;
  }
  Figures f;
  f["trees"] = static_cast<double>(worker.pending_trees());
  f["heap_bytes"] = heap_bytes();
  worker.stop(std::chrono::milliseconds(0));
  return f;
}

Figures run_acker_memory(std::int64_t trees) {
  std::mt19937_64 random(42);
  const double before = heap_bytes();
  auto table = std::make_unique<gale::worker::AckerTable>();
  for (std::int64_t i = 0; i < trees; ++i) table->init(random(), random() | 1, 1);
  const double after = heap_bytes();
  if (table->pending() != static_cast<std::size_t>(trees)) {
    throw std::runtime_error("the acker table holds fewer trees than were inserted");
  }
  Figures f;
  f["trees"] = static_cast<double>(trees);
  f["bytes_per_tree"] = (after - before) / static_cast<double>(trees);
  f["entry_bytes"] = static_cast<double>(gale::worker::AckerTable::entry_bytes());
  return f;
}

Figures run_idle_local(double seconds) {
  gale::Config config = base_config("idle", true);
  config.set(k_idle, true);
  gale::worker::Worker worker(topology(Shape::wordcount), config);
  worker.start();
  sleep_s(1);
  const double cpu_before = self_cpu_seconds();
  const double busy_before = machine_busy_seconds();
  const auto from = std::chrono::steady_clock::now();
  sleep_s(seconds);
  const double cpu = self_cpu_seconds() - cpu_before;
  const double busy = machine_busy_seconds() - busy_before;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
  Figures f;
  f["cpu_pct"] = 100 * cpu / wall;
  f["other_cores"] = std::max(0.0, busy - cpu) / wall;
  f["rss_mb"] = status_mb(::getpid(), "VmRSS");
  f["hwm_mb"] = status_mb(::getpid(), "VmHWM");
  worker.stop(std::chrono::milliseconds(500));
  return f;
}

}  // namespace gale::bench
