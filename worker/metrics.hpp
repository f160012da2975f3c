#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "worker/worker.hpp"

namespace gale::worker {

// A counter written by one thread (its executor) and read by any: the owner does a relaxed load and
// store, which costs no more than a plain increment and never a locked instruction.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(std::uint64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Log-linear latency histogram (8 sub-buckets per power of two: <= 12.5% error), single writer.
class LatencyHistogram {
 public:
  static constexpr int sub_bits = 3;
  static constexpr int buckets = 64 << sub_bits;

  void record(std::int64_t nanos) noexcept;
  // Adds this histogram's counts into `summary_counts` (for merging several tasks).
  void merge_into(std::array<std::uint64_t, buckets>& counts, std::uint64_t& sum_ns,
                  std::uint64_t& max_ns) const noexcept;
  static LatencySummary summarize(const std::array<std::uint64_t, buckets>& counts,
                                  std::uint64_t sum_ns, std::uint64_t max_ns) noexcept;

 private:
  static int bucket_of(std::uint64_t nanos) noexcept;
  static std::uint64_t bucket_upper(int bucket) noexcept;

  std::array<Counter, buckets> counts_;
  Counter sum_ns_;
  Counter max_ns_;
};

// The counters of one task. Thread: written by the task's executor, read by anyone.
struct TaskMetrics {
  Counter emitted;
  Counter transferred;
  Counter acked;
  Counter failed;
  Counter timed_out;
  Counter executed;
  Counter errors;
  Counter pending;
  LatencyHistogram complete_latency;

  // The last error message, for `gale status` and the summary.
  void set_last_error(std::string message);
  std::string last_error() const;

 private:
  mutable std::mutex error_mutex_;
  std::string last_error_;  // protected by error_mutex_
};

}  // namespace gale::worker
