#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gale/config.hpp>
#include <gale/topology.hpp>

#include "common/clock.hpp"
#include "topology/src/plan.hpp"
#include "transport/remote_transport.hpp"
#include "worker/batch_queue.hpp"
#include "worker/metrics.hpp"
#include "worker/worker.hpp"

namespace spdlog {
class logger;
}

namespace gale::worker {

class Executor;

// The state of a Worker shared by its executors: the plan, the clock, the task → queue map, the
// activity counters. Thread: constructed, started and stopped by the owner thread; the members
// marked "any thread" are read and written by executor threads.
class WorkerImpl {
 public:
  WorkerImpl(Topology topology, Config config, WorkerOptions options);
  ~WorkerImpl();

  void start();
  void activate();
  void deactivate();
  void fence_spouts();  // see Worker::fence_spouts
  StopSummary stop(std::chrono::milliseconds drain);

  // --- used by executors (any thread) ---
  const detail::Plan& plan() const noexcept { return plan_; }
  const detail::RuntimeSettings& settings() const noexcept { return settings_; }
  const common::Clock& clock() const noexcept { return *clock_; }
  spdlog::logger& log() const noexcept { return *logger_; }
  bool active() const noexcept { return active_.load(std::memory_order_acquire); }
  // Set once by fence_spouts(): spouts make no more next_tuple(), ack() or fail() calls.
  bool spouts_fenced() const noexcept { return spouts_fenced_.load(std::memory_order_acquire); }
  const WorkerOptions& options() const noexcept { return options_; }
  // Steady-clock start of the last heartbeat the owner finished (Worker::heartbeat_done).
  std::int64_t heartbeat_done_ns() const noexcept {
    return heartbeat_done_ns_.load(std::memory_order_acquire);
  }
  void heartbeat_done(std::int64_t started_ns) noexcept {
    heartbeat_done_ns_.store(started_ns, std::memory_order_release);
  }
  // Bumped by every activate() and deactivate(), after `active` changed: a spout executor that read
  // epoch E and then active() has seen every change up to E.
  std::uint64_t activation_epoch() const noexcept {
    return activation_epoch_.load(std::memory_order_acquire);
  }
  TaskMetrics& metrics(std::int32_t task) { return *metrics_[task]; }
  const std::vector<std::int32_t>& local_tasks() const noexcept { return local_tasks_; }
  // Hands a batch to the executor of `task`, or to the remote transport when `task` runs
  // elsewhere. Blocks on a full queue for data to a bolt from another executor; never for acking
  // traffic or self-sends. Returns false when the batch was dropped because the worker is shutting
  // down (or, remote, has no route). Messages the transport refuses as too large for the wire are
  // appended to `refused` (REQUIRES: not null when `task` may be remote; the caller fails them).
  // Always leaves `batch` empty (maybe with capacity to reuse).
  // A producing executor (`from`) blocked on a full queue runs its while_blocked() between bounded
  // waits.
  bool deliver(std::int32_t task, wire::Batch& batch, Executor* from,
               std::vector<transport::RefusedMessage>* refused = nullptr);
  // Messages from other workers (see Worker::receive). Leaves `messages` empty, maybe with a
  // recycled vector's capacity.
  void receive(std::vector<wire::Message>&& messages);
  void note_processed(std::uint64_t n) noexcept {
    processed_.fetch_add(n, std::memory_order_acq_rel);
  }
  bool capturing() const noexcept { return options_.capture_emits; }
  void capture(CapturedEmit emit);

  // --- the stuck-executor watch (Worker::check_progress; the owner thread) ---
  std::vector<StuckExecutor> check_progress();

  // --- queries (any thread) ---
  WorkerStats stats() const;
  std::uint64_t pending_trees() const;
  bool spouts_idle() const;
  bool quiescent() const noexcept {
    return enqueued_.load(std::memory_order_acquire) == processed_.load(std::memory_order_acquire);
  }
  std::uint64_t activity() const noexcept { return enqueued_.load(std::memory_order_acquire); }
  void wake_all();
  void sync_timers();
  std::vector<CapturedEmit> captured() const;

 private:
  // Delivers a received batch for one task, or drops it (logged, paced) when no executor here
  // runs the task.
  void deliver_received(std::int32_t task, wire::Batch& batch);
  // Sets `active` and bumps the activation epoch; wakes every executor.
  void set_active(bool active);
  // Waits until every spout executor finished a round that saw the latest activation epoch (or
  // until the deadline): after a deactivation, no next_tuple() call is under way or to come.
  void wait_spouts_saw_activation(std::int64_t deadline_ns) const;

  // Constant after construction:
  Topology topology_;  // first: the plan points into it, and it keeps the plugin loaded
  WorkerOptions options_;
  detail::Plan plan_;
  detail::RuntimeSettings settings_;
  std::shared_ptr<common::Clock> clock_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<std::int32_t> local_tasks_;
  std::vector<std::unique_ptr<TaskMetrics>> metrics_;  // indexed by task id; null when not local
  std::vector<std::unique_ptr<Executor>> executors_;
  std::vector<Executor*> executor_of_task_;  // indexed by task id; null when not local

  // Any thread:
  std::atomic<bool> active_{false};
  std::atomic<bool> spouts_fenced_{false};
  std::atomic<std::int64_t> heartbeat_done_ns_{0};
  std::atomic<std::uint64_t> activation_epoch_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> enqueued_{0};
  std::atomic<std::uint64_t> processed_{0};
  std::uint64_t timer_epoch_ = 0;  // owner thread only
  StopSummary stop_summary_;       // owner thread only; set by stop()
  // The transport's receiving thread only: pacing of the "dropped stale messages" log line.
  std::int64_t last_drop_log_ns_ = 0;
  std::uint64_t dropped_since_log_ = 0;
  // The stuck-executor watch's view of each executor (indexed like executors_). Owner thread.
  struct ProgressWatch {
    std::uint64_t rounds = 0;
    std::int64_t since_ns = 0;  // when the watch last saw it move, idle or waiting downstream
    bool reported = false;      // logged as stuck, not yet as moving again
  };
  std::vector<ProgressWatch> watch_;
  bool watching_ = false;  // watch_ holds a first reading
  mutable std::mutex stuck_mutex_;
  std::vector<StuckExecutor> stuck_;  // protected by stuck_mutex_; the last check's result
  mutable std::mutex capture_mutex_;
  std::vector<CapturedEmit> captured_;  // protected by capture_mutex_
};

}  // namespace gale::worker
