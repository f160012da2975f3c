#pragma once

// The measurements that run in a gale_bench child process (one process per run, so that every run
// starts from a fresh heap and its peak RSS is its own): topologies on the local-mode runtime,
// memory per pending tree, and an idle worker.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/probe.hpp"
#include "bench/proc.hpp"
#include "bench/topologies.hpp"

namespace gale::bench {

// The figures of a measured window, from probe snapshots taken at its start and its end:
// sink_rate (tuples/s executed by the sink: noop, or count = words), spout_rate, seconds, and when
// trees were acked acked_rate, failed, lat_count, p50_ms, p99_ms, p999_ms, max_ms.
Figures window_figures(Shape shape, const std::vector<ProbeSnapshot>& before,
                       const std::vector<ProbeSnapshot>& after);

struct LocalRunOptions {
  Shape shape = Shape::wordcount;
  bool acking = true;
  double rate = 0;                  // spout tuples/s; 0: saturation
  std::int64_t max_pending = 1024;  // topology.max.spout.pending with acking on; 0: unbounded
  double warmup_s = 1;
  double duration_s = 2;
  std::vector<std::string> overrides;  // "key=value" config settings applied last
};

// Runs the topology in this process (gale::worker::Worker), measures the window after the warm-up.
// Figures: those of window_figures(), cpu_cores (process CPU seconds per second of the window),
// per_cpu_s (sink tuples per CPU second), other_cores (what the rest of the machine kept busy),
// hwm_mb (peak RSS of this process), heap_mb (heap_bytes() at the window's end, the topology
// still running); window_tuples: peak_window_tuples (peak_window_tuples()).
Figures run_local(const LocalRunOptions& options);

// Heap bytes (heap_bytes()) once `trees` trees are pending in a local noop topology whose sink
// never acks: spout and acker bookkeeping plus a constant. Figures: trees, heap_bytes.
Figures run_pending_memory(std::int64_t trees);

// Heap growth of an AckerTable (worker/acker.hpp) holding `trees` pending trees.
// Figures: trees, bytes_per_tree, entry_bytes (AckerTable::entry_bytes()).
Figures run_acker_memory(std::int64_t trees);

// Word count with acking on and a spout that emits nothing, in this process: CPU over
// `seconds` after 1 s of settling. Figures: cpu_pct (of one core), rss_mb, hwm_mb, other_cores.
Figures run_idle_local(double seconds);

}  // namespace gale::bench
