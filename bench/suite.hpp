#pragma once

// The whole benchmark suite: every scenario, several runs each, the table, the CSV files and the
// latency plot. Local-mode runs and the ceilings run in child processes of this executable
// (`gale_bench --run KIND ...`); the cluster runs start nimbus, a supervisor and workers with the
// gale command. See docs/performance.md.

#include <cstdint>
#include <string>
#include <vector>

namespace gale::bench {

struct SuiteOptions {
  int runs = 3;           // runs per figure; each figure is their median
  double warmup_s = 1;    // per local run, before the measured window
  double duration_s = 2;  // the measured window
  double cluster_warmup_s = 1.5;
  std::int64_t max_pending = 1024;  // topology.max.spout.pending with acking on
  std::vector<double> sweep{0.1, 0.25, 0.5, 0.75, 0.9};  // offered rates, fractions of saturation
  // A run during which other work kept more than this many cores busy is measured again, as
  // long as the retries took less than retry_budget_s in all.
  double max_other_load = 0.5;
  double retry_budget_s = 60;
  bool cluster = true;                // false: skip the cluster scenarios
  bool cluster_only = false;          // true: only the cluster scenarios (and the ZeroMQ ceiling)
  bool connectors = true;             // false: skip the connector scenarios
  bool connectors_only = false;       // true: only the connector scenarios
  bool windows = true;                // false: skip the windowed count scenarios
  bool windows_only = false;          // true: only the windowed count scenarios
  std::int64_t window_keys = 10'000;  // distinct keys of the windowed count's spout
  // Seconds a windowed run runs before its measured window: the window's length and 6 s more. A
  // window without aggregation holds every tuple, and takes them in faster in its first seconds
  // (its firings are still small); once those have left, it runs at its steady rate and size.
  double window_fill_s = 16;
  // The measured window of a windowed run: several sliding intervals, because a window without
  // aggregation stalls its bolt for about a second at each firing (it goes over every tuple).
  double window_duration_s = 5;
  std::string out_dir = "bench-results";
  std::string label;   // printed in the header and the plot (e.g. the commit)
  std::string self;    // this executable
  std::string plugin;  // the cluster plugin (gale_bench_plugin.so)
};

// Runs everything, prints the table on stdout (progress on stderr) and writes into out_dir:
// table.txt, results.csv, targets.csv, latency.dat, latency.gp and, with gnuplot, latency.svg.
// Returns 0 when every figure was measured (whether or not the targets pass), 1 otherwise.
int run_suite(const SuiteOptions& options);

}  // namespace gale::bench
