#pragma once

// Word count on a local cluster: nimbus and one supervisor with two worker slots on loopback,
// started with the gale command of this build (cluster/local_cluster.hpp), and the benchmark's
// plugin (bench/plugin.cpp) submitted on two workers.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/proc.hpp"
#include "cluster/local_cluster.hpp"

namespace gale::bench {

struct ClusterRunOptions {
  bool acking = true;
  double rate = 0;                  // spout sentences/s; 0: saturation
  bool idle = false;                // the spout emits nothing
  std::int64_t max_pending = 1024;  // with acking on
  double warmup_s = 1.5;
  double duration_s = 2;
};

struct ClusterRun {
  Figures figures;
  // Where the components run, from `gale status`: one entry per worker, e.g. "count,spout".
  std::vector<std::string> placement;
  bool crossing = false;  // spout and count on one worker, split on the other
};

// Thread: one owner.
class BenchCluster {
 public:
  // Starts nimbus and a supervisor with two slots. Everything is killed when this is destroyed,
  // or by the cluster's reaper if this process dies.
  explicit BenchCluster(std::string plugin);

  // Submits the plugin on two workers, waits until both run and every task published its probe,
  // measures the window after the warm-up, then kills the topology and waits for its workers to
  // exit (SIGKILLs them after 20 s). Throws std::runtime_error naming what did not happen in
  // time. Figures: those of window_figures() (and, when idle, cpu_pct and rss_mb of the busier
  // worker), cpu_cores (both workers), other_cores (the rest of the machine), per worker hwm_mb_1,
  // hwm_mb_2, hwm_mb (the larger), crossing (1 or 0), and from the workers' logs wire_batches and
  // wire_bytes_per_batch (what their transports sent over the whole run).
  ClusterRun run(const ClusterRunOptions& options);

  const std::string& dir() const { return cluster_.dir(); }

 private:
  std::string slot_dir(int port) const;

  std::string saved_log_level_;  // GALE_LOG_LEVEL before the daemons started (at info)
  std::string plugin_;
  cluster::LocalCluster cluster_;
  int next_ = 0;
};

}  // namespace gale::bench
