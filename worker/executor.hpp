#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gale/context.hpp>

#include "topology/src/plan.hpp"
#include "topology/src/tuple_data.hpp"
#include "transport/remote_transport.hpp"
#include "worker/batch_queue.hpp"
#include "worker/groupers.hpp"
#include "worker/metrics.hpp"
#include "worker/random.hpp"

namespace gale::worker {

class WorkerImpl;

// Where one task's emits go: a grouper per (stream, subscriber), resolved when the task starts.
// Thread: the task's executor.
class TaskRouter {
 public:
  TaskRouter(WorkerImpl& worker, const detail::ComponentPlan& component, const Context& context,
             std::uint64_t seed, std::function<void(const std::string&)> report_error);

  // Index of a declared stream; an empty name is the default stream. Throws TopologyError naming
  // the component and the stream.
  int stream_index(std::string_view stream);
  // Appends the target tasks of a tuple on stream `stream` to `out`. `direct_task` is the task
  // given to emit_direct, or -1. Throws TopologyError when emit() is used on a direct stream,
  // emit_direct() on a non-direct one, or emit_direct() names a task that does not subscribe
  // directly.
  void route(int stream, const Values& values, std::int32_t direct_task,
             std::vector<std::int32_t>& out);
  const detail::StreamPlan& stream(int index) const { return component_.streams[index]; }

 private:
  const detail::ComponentPlan& component_;
  std::vector<std::vector<std::unique_ptr<Grouper>>> groupers_;  // [stream][subscriber]
  int last_stream_ = -1;  // cache: most components emit to one stream
  static constexpr int k_unresolved = -2;
  int default_stream_ = k_unresolved;  // index of "default", -1 when undeclared
};

// What every spout and bolt task has. Thread: the task's executor.
struct TaskBase {
  std::int32_t id = 0;
  const detail::ComponentPlan* component = nullptr;
  TaskMetrics* metrics = nullptr;
  std::unique_ptr<Context> context;
  std::unique_ptr<TaskRouter> router;
  bool broken = false;  // open()/prepare() failed
  // Event time: the highest timestamp emitted on a stream an event-time windowed bolt reads, the
  // highest sent on the watermark stream, and when to send next (k_no_watermark: never).
  static constexpr std::int64_t k_no_watermark = std::numeric_limits<std::int64_t>::min();
  std::int64_t event_time = k_no_watermark;
  std::int64_t event_time_sent = k_no_watermark;
  std::int64_t next_watermark_ns = std::numeric_limits<std::int64_t>::max();
};

// One executor thread running one or more tasks of a component (or one acker task): a loop that
// takes every queued batch, handles each message, runs timers and spout emission, and flushes the
// batched output. Thread: run() owns all members; start/request_stop/join come from the worker's
// owner thread.
class Executor {
 public:
  Executor(WorkerImpl& worker, detail::ExecutorPlan plan);
  virtual ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void start();
  // Blocks until the executor's tasks ran open()/prepare().
  void wait_ready();
  void request_stop();
  void join();
  // Asks the executor to run its timers at least once more, after which timer_epoch() >= epoch.
  void request_timers(std::uint64_t epoch) {
    timers_requested_.store(epoch, std::memory_order_release);
    queue_.wake();
  }
  // The last requested epoch whose timer run, and the flush of what it emitted, completed.
  std::uint64_t timer_epoch() const noexcept {
    return timers_seen_.load(std::memory_order_acquire);
  }
  BatchQueue& queue() noexcept { return queue_; }
  const detail::ExecutorPlan& plan() const noexcept { return plan_; }
  virtual bool is_spout() const noexcept { return false; }
  // Spout executors: trees pending over their tasks; a spout whose rounds emitted nothing lately.
  virtual std::uint64_t pending() const noexcept { return 0; }
  // Spout executors: the latest activation epoch (WorkerImpl::activation_epoch) that a completed
  // round of produce() saw, its emits counted in pending().
  virtual std::uint64_t activation_seen() const noexcept { return 0; }
  virtual bool idle() const noexcept { return true; }

  // Runs on this executor's thread while it is blocked handing a batch to a full queue, between
  // bounded waits (WorkerImpl::deliver): spouts expire their pending trees on time there. Must not
  // call user code (the thread may be inside a user callback) nor send anything.
  virtual void while_blocked() {}

  // After the stop's drain ran out: from now on the executor drops what is queued instead of
  // handling it, and runs no more user code except close()/cleanup(). Any thread.
  void discard() noexcept { discard_.store(true, std::memory_order_release); }
  bool discarding() const noexcept { return discard_.load(std::memory_order_acquire); }
  // Messages dropped because of discard(). Read after join().
  std::uint64_t dropped() const noexcept { return dropped_; }
  // True once run() returned (shutdown done). Any thread.
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
  // --- progress, read by the worker's stuck-executor watch (WorkerImpl::check_progress) ---
  // Rounds of the loop begun so far. The executor thread stores it once per round (relaxed: the
  // watch only compares readings, a second apart). An idle executor begins a round at least every
  // k_max_idle_wait_ns, so a count that stays put while the executor is not asleep in pop_all()
  // means it is inside one round: in user code or handing over its output. Any thread.
  std::uint64_t rounds() const noexcept { return rounds_.load(std::memory_order_relaxed); }
  // True while the executor waits for a full queue of another executor, or for the transport to
  // take a batch for another worker: its own user code is not what holds it up. Set and cleared by
  // this executor's thread (WorkerImpl::deliver), only when it hands over a batch that has to
  // wait or crosses to another worker, never per tuple. Any thread reads it.
  bool waiting_downstream() const noexcept {
    return waiting_downstream_.load(std::memory_order_relaxed);
  }
  void set_waiting_downstream(bool waiting) noexcept {
    waiting_downstream_.store(waiting, std::memory_order_relaxed);
  }
  // The user callbacks a round of this executor runs, for the stuck report ("execute()").
  virtual const char* user_calls() const noexcept { return "execute()"; }

  // What failed in open()/prepare() ("bolt 'split' task 3: prepare() threw: boom"), one entry per
  // task. REQUIRES: wait_ready() returned.
  const std::vector<std::string>& init_errors() const noexcept { return init_errors_; }

 protected:
  // Runs on the executor thread before the loop (open/prepare) and after it (close/cleanup).
  virtual void init() = 0;
  virtual void shutdown() = 0;
  virtual void on_message(wire::Message& message) = 0;
  // Timers due at `now` (ticks, timeouts, rotations); returns the next deadline (INT64_MAX: none).
  virtual std::int64_t on_timers(std::int64_t now) = 0;
  // Spouts: call next_tuple; returns true when anything was emitted.
  virtual bool produce() { return false; }
  // Longest real-time wait of an idle loop. With a simulated clock the worker wakes executors when
  // time moves, so for timers this only bounds a missed wake-up.
  virtual std::int64_t idle_wait_ns() const noexcept { return k_max_idle_wait_ns; }
  static constexpr std::int64_t k_max_idle_wait_ns = 100'000'000;
  // Whether the loop may leave once a stop was requested and the queue is empty.
  virtual bool drains_before_stop() const noexcept { return true; }

  // Fills the common part of a task: context and router. Throws what a custom grouping throws.
  void init_task(TaskBase& task, std::int32_t id, const detail::ComponentPlan& component);
  // Event time: sends `task`'s highest emitted timestamp on its watermark stream to every task of
  // the bolts that read it, when it is due at `now` and has moved on since the last one. Returns
  // when it is next due (INT64_MAX: never).
  std::int64_t send_watermark(TaskBase& task, std::int64_t now);
  // The common start of an emit: resolves the stream, checks that there is one value per field of
  // the stream, routes the values into `targets_`, counts and captures. Returns the stream. Throws
  // TopologyError for a bad stream, a wrong number of values or a bad direct task; nothing is
  // emitted then.
  const detail::StreamPlan& begin_emit(TaskBase& task, std::string_view stream,
                                       const Values& values, std::int32_t direct_task);
  // Appends a message for `task` to its outbox batch and lets `fill` write it in place (a tuple
  // is built where the receiver will read it). A full batch is handed over at once. If `fill`
  // throws, the message is dropped and the exception propagates.
  template <class Fill>
  void send_to(std::int32_t task, Fill&& fill) {
    wire::Batch& batch = outbox_[task];
    if (batch.empty()) {
      dirty_.push_back(task);
      batch.reserve(batch_size_);
    }
    wire::Message& m = batch.emplace_back();
    m.task = task;
    try {
      fill(m);
    } catch (...) {
      batch.pop_back();
      throw;
    }
    if (batch.size() >= batch_size_) flush_task(task);
  }
  // Writes the tuple part of a data message emitted by `task` on `stream`: its values are moved
  // in for the last target and copied for the others.
  static void fill_tuple(wire::Message& m, const TaskBase& task, const detail::StreamPlan& stream,
                         Values& values, bool last) {
    m.kind = wire::MessageKind::tuple;
    m.source_task = task.id;
    m.meta = &stream.meta;
    if (last) {
      m.values = std::move(values);
    } else {
      m.values = values;
    }
  }
  // Buffers an acking message (no tuple) for `task`.
  void send_control(wire::MessageKind kind, std::int32_t task, std::uint64_t root,
                    std::uint64_t value = 0, std::int32_t spout_task = 0) {
    send_to(task, [&](wire::Message& m) {
      m.kind = kind;
      m.root = root;
      m.value = value;
      m.spout_task = spout_task;
    });
  }
  // Hands over every buffered batch.
  void flush();
  // The clock for per-tuple latency figures. Reading the clock costs ~25 ns in a VM (kvm-clock),
  // a sizeable part of an acked tuple, so a reading is reused for up to k_clock_reuse calls
  // within one round of the loop (a few microseconds at saturation); every round starts with a
  // fresh one, and a simulated clock is always read.
  std::int64_t latency_now_ns() {
    if (clock_reuses_left_ == 0) {
      clock_reading_ns_ = worker_clock_now_ns();
      clock_reuses_left_ = clock_simulated_ ? 0 : k_clock_reuse;
    } else {
      --clock_reuses_left_;
    }
    return clock_reading_ns_;
  }
  static constexpr int k_clock_reuse = 8;

  // Counts, records and logs (at most once a second per task) an error of user code.
  void report_error(std::int32_t task, std::string_view what);
  // A std::bad_alloc ends the process (worker/out_of_memory.hpp); anything else is reported.
  void report_exception(std::int32_t task, std::string_view callback, std::exception_ptr error);
  void exit_if_out_of_memory(std::int32_t task, std::string_view callback,
                             std::exception_ptr error);
  // Reports a failed open()/prepare() (or what built the task) and records it in init_errors().
  void init_failed(std::int32_t task, std::string_view callback, std::exception_ptr error);

  WorkerImpl& worker_;
  const detail::ExecutorPlan plan_;
  BatchQueue queue_;
  Random random_;
  std::vector<std::int32_t> targets_;  // the current emit's target tasks

 private:
  void run();
  void name_thread() const;
  void flush_task(std::int32_t task);
  // Fails and reports the messages the remote transport refused (refused_): each tuple's trees
  // fail at their ackers, and the error, naming component, stream and size, counts against the
  // emitting task.
  [[gnu::noinline, gnu::cold]] void fail_refused();

  std::int64_t worker_clock_now_ns() const noexcept;

  // topology.producer.batch.size, kept here because send_to() is inline and WorkerImpl is not
  // complete in this header. Constant after construction.
  const std::size_t batch_size_;
  std::int64_t clock_reading_ns_ = 0;
  int clock_reuses_left_ = 0;
  bool clock_simulated_ = false;
  std::vector<wire::Batch> outbox_;  // indexed by task id
  std::vector<std::int32_t> dirty_;  // tasks with a non-empty outbox batch
  std::vector<wire::Batch> inbox_;
  std::vector<wire::Batch> spent_;  // processed inbox batches, returned to queue_ as spares
  std::vector<transport::RefusedMessage> refused_;  // what the last flush_task could not send
  std::vector<std::int64_t> last_error_log_ns_;     // per local task index; 0: never logged
  std::vector<std::uint64_t> suppressed_errors_;
  std::atomic<std::uint64_t> timers_requested_{0};
  std::atomic<std::uint64_t> timers_seen_{0};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> discard_{false};
  std::atomic<bool> finished_{false};
  // Written by the executor thread only (see rounds() and waiting_downstream()).
  std::atomic<std::uint64_t> rounds_{0};
  std::atomic<bool> waiting_downstream_{false};
  std::uint64_t dropped_ = 0;             // the executor thread's, read after join()
  std::vector<std::string> init_errors_;  // written by init(), read after wait_ready()
  std::thread thread_;
};

std::unique_ptr<Executor> make_spout_executor(WorkerImpl& worker, detail::ExecutorPlan plan);
std::unique_ptr<Executor> make_bolt_executor(WorkerImpl& worker, detail::ExecutorPlan plan);
std::unique_ptr<Executor> make_acker_executor(WorkerImpl& worker, detail::ExecutorPlan plan);

}  // namespace gale::worker
