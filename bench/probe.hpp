#pragma once

// What the benchmark's own spouts and bolts count, independent of the runtime's metrics: tuples
// per task and, at the spout, the complete latency of every acked tree (emit to ack()) in a
// histogram. The suite reads cumulative snapshots at the start and the end of a measured window and
// takes their difference, so warm-up never enters a figure.
//
// Local mode reads the probes of its own process (registered_snapshots()); in cluster mode each
// task publishes its snapshot to a file in a directory named by the topology config, at most every
// 100 ms, from its own executor thread, and the suite reads the files (read_published()).

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gale::bench {

// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine.
std::int64_t now_ns() noexcept;

// A counter written by one thread and read by any: a relaxed load and store, no locked instruction.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Log-linear histogram of non-negative values: exact below 32, then 32 buckets per power of two,
// so a value's bucket midpoint is within 1.6% of it. Single writer, any reader.
class Histogram {
 public:
  static constexpr int k_sub_bits = 5;
  static constexpr int k_sub = 1 << k_sub_bits;
  static constexpr int k_buckets = (64 - k_sub_bits + 1) * k_sub;

  void record(std::uint64_t value) noexcept { counts_[bucket_of(value)].add(); }
  std::vector<std::uint64_t> counts() const;

  static int bucket_of(std::uint64_t value) noexcept;
  static std::uint64_t bucket_lower(int bucket) noexcept;
  static std::uint64_t bucket_upper(int bucket) noexcept;  // inclusive

 private:
  std::array<Counter, k_buckets> counts_;
};

// Percentiles of a histogram's counts (bucket midpoints), in the histogram's unit.
struct Percentiles {
  std::uint64_t count = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};
Percentiles percentiles(const std::vector<std::uint64_t>& counts);

// One task's cumulative figures at one instant.
struct ProbeSnapshot {
  std::string component;
  std::int32_t task = 0;
  std::int64_t time_ns = 0;               // now_ns() when taken
  std::uint64_t count = 0;                // spouts: tuples emitted; bolts: data tuples executed
  std::uint64_t acked = 0;                // spouts: trees acked
  std::uint64_t failed = 0;               // spouts: trees failed
  std::vector<std::uint64_t> latency_ns;  // spouts: complete latency histogram (Histogram buckets)
};

// Text form of a snapshot (one "key value" line per field; the histogram as bucket:count pairs).
std::string format_snapshot(const ProbeSnapshot& snapshot);
// Throws std::runtime_error on text that format_snapshot did not write.
ProbeSnapshot parse_snapshot(std::string_view text);

// The figures of one task. Thread: written by the task's executor thread; snapshot() from any.
class Probe {
 public:
  // `publish_dir` empty: snapshots are only read in this process.
  Probe(std::string component, std::int32_t task, std::string publish_dir);

  void add(std::uint64_t n = 1) noexcept { count_.add(n); }
  void acked(std::int64_t latency_ns) noexcept {
    acked_.add();
    latency_.record(latency_ns < 0 ? 0 : static_cast<std::uint64_t>(latency_ns));
  }
  void failed() noexcept { failed_.add(); }
  // Writes the snapshot to <publish_dir>/<component>-<task>.stats when the last write is 100 ms
  // old (written aside and renamed, so a reader never sees half a file). Errors are ignored: a
  // missing file shows up as a missing figure. Thread: the owner.
  void maybe_publish(std::int64_t now) {
    if (!publish_dir_.empty() && now - last_publish_ns_ >= k_publish_interval_ns) publish(now);
  }

  ProbeSnapshot snapshot(std::int64_t now) const;

 private:
  static constexpr std::int64_t k_publish_interval_ns = 100'000'000;
  void publish(std::int64_t now);

  // Constant after construction:
  const std::string component_;
  const std::int32_t task_;
  const std::string publish_dir_;
  // Owner thread:
  std::int64_t last_publish_ns_ = 0;
  // Any thread:
  Counter count_, acked_, failed_;
  Histogram latency_;
};

// Registers a probe of this process; registered_snapshots() reads every registered probe.
// Thread-safe.
void register_probe(std::shared_ptr<const Probe> probe);
std::vector<ProbeSnapshot> registered_snapshots();
// Every snapshot file in `dir` (files being replaced are read whole or not at all).
std::vector<ProbeSnapshot> read_published(const std::string& dir);

// What happened between two sets of snapshots of the same tasks.
struct WindowFigures {
  double seconds = 0;        // the longest per-task interval
  double rate = 0;           // sum over the component's tasks of Δcount / Δtime, per second
  std::uint64_t count = 0;   // Δcount over those tasks
  std::uint64_t acked = 0;   // Δacked
  std::uint64_t failed = 0;  // Δfailed
  std::vector<std::uint64_t> latency_ns;  // Δ of the latency histograms (empty when none)
  int tasks = 0;                          // tasks found in both sets
};
WindowFigures window(const std::vector<ProbeSnapshot>& before,
                     const std::vector<ProbeSnapshot>& after, std::string_view component);

}  // namespace gale::bench
