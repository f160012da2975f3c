#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gale/topology.hpp>

#include "worker/worker.hpp"

namespace gale::cli {

// Text that `gale local` prints: the per-second progress line and the final summary.
// Pure functions of worker stats, so they are easy to read and to test.

// Component ids in reading order: spouts first, then bolts after the components they subscribe to
// (ties and cycles in id order).
std::vector<std::string> display_order(const Topology& topology);

// Reorders `stats.components` by `order`; components not in it (ackers) go to the end.
void sort_for_display(worker::WorkerStats& stats, const std::vector<std::string>& order);

// 812, 12.3k, 1.20M, 7.10G: three significant digits above 999.
std::string human_count(std::uint64_t n);

// Tuples processed so far: execute() calls summed over every bolt (ackers excluded), or the tuples
// the spouts emitted when the topology has no bolt.
std::uint64_t processed_tuples(const worker::WorkerStats& stats);

// One progress line, e.g. "[  3s] sentences: emitted 1.20M acked 1.19M failed 0 pending 812 |
// split: exec 1.19M | count: exec 7.1M | 2.4M tuples/s" (on one line).
// The rate is the change of processed_tuples() between `before` and `now` over `interval_s`.
// Each stuck executor of `now` adds " | STUCK bolt 'count' task 3 61s".
std::string progress_line(const worker::WorkerStats& now, const worker::WorkerStats& before,
                          double elapsed_s, double interval_s);

// The multi-line summary printed after the worker stopped: per-component totals, the average
// throughput, complete latency percentiles of spouts with acking on, and failed (replayed) trees.
std::string summary(const worker::WorkerStats& stats, double elapsed_s, std::string_view why);

// What the stop left behind when the drain ran out, e.g. "  left pending at stop: 1024 trees (the
// 5s drain ran out; 31200 queued messages dropped)\n"; empty when every tree completed in time.
std::string stop_line(const worker::StopSummary& stopped, double drain_s);

}  // namespace gale::cli
