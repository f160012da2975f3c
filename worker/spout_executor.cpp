// Runs spout tasks: calls next_tuple while the topology is active and below max spout pending,
// starts tuple trees at the acker, and turns acker verdicts and timeouts into ack()/fail().

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>
#include <gale/spout.hpp>

#include "worker/executor.hpp"
#include "worker/rotating_map.hpp"
#include "worker/worker_impl.hpp"

namespace gale::worker {

namespace {

constexpr std::int64_t k_never = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t k_pending_buckets = 4;

// topology.max.spout.pending of a component (0: unbounded): its value, unbounded when it is
// null, default_max_spout_pending when it is absent and acking is on.
std::int64_t max_spout_pending(const Config& config, bool acking) {
  const Value* v = config.find(keys::topology_max_spout_pending);
  if (v == nullptr) return acking ? default_max_spout_pending : 0;
  return v->is_null() ? 0 : v->as_int();
}

class SpoutExecutor;

struct PendingTuple {
  MessageId id;
  std::int64_t emit_ns = 0;
};

struct SpoutTask;

// Thread: the spout task's executor.
class SpoutCollectorImpl final : public SpoutCollector {
 public:
  SpoutCollectorImpl(SpoutExecutor& executor, SpoutTask& task) : executor_(executor), task_(task) {}
  void report_error(std::string_view message) override;
  std::size_t pending_count() const override;
  SpoutWaker waker() override;

 protected:
  void do_emit(std::string_view stream, Values&& values, const MessageId* id,
               std::int32_t direct_task) override;

 private:
  SpoutExecutor& executor_;
  SpoutTask& task_;
};

// Thread: the spout task's executor.
struct SpoutTask : TaskBase {
  std::unique_ptr<Spout> spout;
  std::unique_ptr<SpoutCollectorImpl> collector;
  RotatingMap<std::uint64_t, PendingTuple> pending{k_pending_buckets};
  std::int64_t max_pending = 0;  // 0: unbounded
  bool emitted = false;          // the current next_tuple() call emitted something
};

class SpoutExecutor final : public Executor {
 public:
  SpoutExecutor(WorkerImpl& worker, detail::ExecutorPlan plan) : Executor(worker, std::move(plan)) {
    const detail::RuntimeSettings& s = worker_.settings();
    if (s.timeouts_enabled && worker_.plan().acking()) {
      rotation_interval_ns_ =
          std::max<std::int64_t>(s.message_timeout_ns / (k_pending_buckets - 1), 1);
    }
  }

  bool is_spout() const noexcept override { return true; }
  std::uint64_t pending() const noexcept override {
    return pending_total_.load(std::memory_order_relaxed);
  }
  bool idle() const noexcept override { return empty_rounds_.load(std::memory_order_acquire) >= 3; }
  const char* user_calls() const noexcept override { return "next_tuple(), ack() or fail()"; }
  std::uint64_t activation_seen() const noexcept override {
    return activation_seen_.load(std::memory_order_acquire);
  }

  void emit(SpoutTask& task, std::string_view stream, Values&& values, const MessageId* id,
            std::int32_t direct_task);
  void error_from_user(SpoutTask& task, std::string_view message) {
    report_error(task.id, message);
  }

  // Blocked on a full queue (maybe inside next_tuple): timeouts still expire on time and the
  // pending figure stays current; the fail() calls wait until the user code on the stack returned.
  void while_blocked() override {
    if (discarding()) return;
    expire_due(worker_.clock().now_ns());
    update_pending();
  }

 protected:
  void init() override;
  void shutdown() override;
  void on_message(wire::Message& message) override;
  std::int64_t on_timers(std::int64_t now) override;
  bool produce() override;
  bool drains_before_stop() const noexcept override { return false; }
  // The sleep after a round that emitted nothing: topology.sleep.spout.wait.strategy.time.ms,
  // doubling with every further empty round up to topology.spout.wait.max.ms. Acks and commands
  // arrive on the queue and end the sleep early.
  std::int64_t idle_wait_ns() const noexcept override {
    if (stalled_at_ns_ != 0) return k_hold_poll_ns;  // looks for the heartbeat that releases it
    const detail::RuntimeSettings& s = worker_.settings();
    if (!worker_.active()) return k_max_idle_wait_ns;
    const std::uint64_t rounds = empty_rounds_.load(std::memory_order_relaxed);
    const int doublings =
        static_cast<int>(std::min<std::uint64_t>(rounds > 0 ? rounds - 1 : 0, 20));
    return std::min(s.spout_sleep_ns << doublings, s.spout_sleep_max_ns);
  }

 private:
  SpoutTask* task_of(std::int32_t id) {
    for (auto& t : tasks_) {
      if (t->id == id) return t.get();
    }
    return nullptr;
  }
  void update_pending() {
    std::uint64_t total = 0;
    for (auto& t : tasks_) {
      auto n = t->pending.size();
      t->metrics->pending.set(n);
      total += n;
    }
    pending_total_.store(total, std::memory_order_relaxed);
  }
  // Runs the rotations due at `now`. Expired trees count as failed at once; their fail() calls
  // are queued in expired_ for run_callbacks(), never made here: this may run while the spout is
  // blocked inside one of its own callbacks.
  void expire_due(std::int64_t now) {
    while (now >= next_rotation_ns_) {
      next_rotation_ns_ += rotation_interval_ns_;
      for (auto& task : tasks_) {
        task->pending.rotate([&](std::uint64_t, PendingTuple& expired) {
          task->metrics->failed.add();
          task->metrics->timed_out.add();
          expired_.emplace_back(task.get(), std::move(expired.id));
        });
      }
    }
  }
  // The ack() of trees completed at emit (acking off) and the fail() of expired trees, in order.
  // ack() and fail() may emit again and so queue more: each list is taken before its calls.
  void run_callbacks() {
    if (worker_.spouts_fenced()) {
      immediate_acks_.clear();
      expired_.clear();
      return;
    }
    while (!immediate_acks_.empty() || !expired_.empty()) {
      std::vector<std::pair<SpoutTask*, MessageId>> acks;
      acks.swap(immediate_acks_);
      for (auto& [t, id] : acks) {
        t->metrics->acked.add();
        call(*t, "ack", [&] { t->spout->ack(id); });
      }
      std::vector<std::pair<SpoutTask*, MessageId>> fails;
      fails.swap(expired_);
      for (auto& [t, id] : fails) {
        if (t->spout) call(*t, "fail", [&] { t->spout->fail(id); });
      }
    }
  }
  template <class F>
  void call(SpoutTask& task, const char* callback, F&& f) {
    try {
      f();
    } catch (...) {
      report_exception(task.id, callback, std::current_exception());
    }
  }

  // Whether this round makes no user call because the executor did not run for longer than
  // WorkerOptions::stall_after (the process was stopped) and no heartbeat started since has ended:
  // the worker may have been superseded meanwhile. Computed by the round's first caller (one
  // steady clock reading per round, cluster mode only); produce() ends the round.
  bool hold_this_round() {
    if (round_checked_) return round_held_;
    round_checked_ = true;
    const WorkerOptions& o = worker_.options();
    if (o.stall_after.count() <= 0) return round_held_ = false;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    const std::int64_t stall_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(o.stall_after).count();
    if (last_round_ns_ != 0 && now - last_round_ns_ > stall_ns) {
      worker_.log().warn(
          "spouts hold: this process did not run for {} ms; no next_tuple/ack/fail until a "
          "heartbeat confirms its assignment",
          (now - last_round_ns_) / 1'000'000);
      stalled_at_ns_ = last_round_ns_ + stall_ns;  // nothing here ran at that time
      hold_until_ns_ =
          now + std::chrono::duration_cast<std::chrono::nanoseconds>(o.stall_hold).count();
    }
    last_round_ns_ = now;
    if (stalled_at_ns_ != 0 &&
        (worker_.heartbeat_done_ns() >= stalled_at_ns_ || now >= hold_until_ns_)) {
      stalled_at_ns_ = 0;
    }
    return round_held_ = stalled_at_ns_ != 0;
  }
  // Calls ack() or fail() for a spout_ack or spout_fail.
  void take_verdict(wire::Message& message);

  static constexpr std::int64_t k_hold_poll_ns = 5'000'000;

  std::vector<std::unique_ptr<SpoutTask>> tasks_;
  // Held after a stall: verdicts that arrived while held, in order; taken once released.
  std::vector<wire::Message> held_verdicts_;
  std::int64_t last_round_ns_ = 0;  // steady clock
  std::int64_t stalled_at_ns_ = 0;  // 0: not held
  std::int64_t hold_until_ns_ = 0;
  bool round_checked_ = false;
  bool round_held_ = false;
  std::vector<std::pair<SpoutTask*, MessageId>> immediate_acks_;
  std::vector<std::pair<SpoutTask*, MessageId>> expired_;  // timed out, fail() not called yet
  bool was_active_ = false;
  std::int64_t rotation_interval_ns_ = 0;  // 0: no timeouts
  std::int64_t next_rotation_ns_ = k_never;
  std::atomic<std::uint64_t> pending_total_{0};
  std::atomic<std::uint64_t> empty_rounds_{0};
  std::atomic<std::uint64_t> activation_seen_{0};
};

void SpoutCollectorImpl::report_error(std::string_view message) {
  executor_.error_from_user(task_, message);
}

std::size_t SpoutCollectorImpl::pending_count() const { return task_.pending.size(); }

SpoutWaker SpoutCollectorImpl::waker() {
  // Any thread: BatchQueue::wake() is thread-safe, and the executor outlives its tasks' close().
  return SpoutWaker(
      [](void* executor) noexcept { static_cast<SpoutExecutor*>(executor)->queue().wake(); },
      &executor_);
}

void SpoutCollectorImpl::do_emit(std::string_view stream, Values&& values, const MessageId* id,
                                 std::int32_t direct_task) {
  executor_.emit(task_, stream, std::move(values), id, direct_task);
}

void SpoutExecutor::init() {
  const detail::Plan& plan = worker_.plan();
  const detail::ComponentPlan& component = plan.component(plan_.component_index);
  const std::int64_t max_pending = max_spout_pending(component.config, plan.acking());
  for (std::int32_t id : plan_.tasks) {
    auto task = std::make_unique<SpoutTask>();
    task->max_pending = max_pending;
    task->collector = std::make_unique<SpoutCollectorImpl>(*this, *task);
    try {
      init_task(*task, id, component);
      task->spout = component.def->spout();
      if (!task->spout) throw Error("the spout factory returned null");
      task->spout->open(*task->context, *task->collector);
    } catch (...) {
      init_failed(id, "open()", std::current_exception());
      task->broken = true;
    }
    tasks_.push_back(std::move(task));
  }
  if (rotation_interval_ns_ > 0) {
    next_rotation_ns_ = worker_.clock().now_ns() + rotation_interval_ns_;
  }
}

void SpoutExecutor::shutdown() {
  for (auto& task : tasks_) {
    if (task->broken || !task->spout) continue;
    if (was_active_) call(*task, "deactivate", [&] { task->spout->deactivate(); });
    call(*task, "close", [&] { task->spout->close(); });
  }
  // Destroy the spouts here, on their own thread, while the plugin is surely loaded.
  for (auto& task : tasks_) task->spout.reset();
}

void SpoutExecutor::emit(SpoutTask& task, std::string_view stream, Values&& values,
                         const MessageId* id, std::int32_t direct_task) {
  const detail::StreamPlan& sp = begin_emit(task, stream, values, direct_task);
  task.emitted = true;
  const bool track = id != nullptr && worker_.plan().acking() && !targets_.empty();
  const std::uint64_t root = track ? random_.next_id() : 0;
  std::uint64_t xor_value = 0;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const bool last = i + 1 == targets_.size();
    send_to(targets_[i], [&](wire::Message& m) {
      fill_tuple(m, task, sp, values, last);
      if (track) {
        std::uint64_t edge = random_.next_id();
        xor_value ^= edge;
        m.anchors.push_back({root, edge});
      }
    });
  }
  if (id == nullptr) return;
  if (track) {
    task.pending.insert(root, PendingTuple{*id, latency_now_ns()});
    send_control(wire::MessageKind::acker_init, worker_.plan().acker_for(root), root, xor_value,
                 task.id);
  } else {
    // Acking off, or nobody subscribes: the tree is complete the moment it is emitted. ack() runs
    // after next_tuple() returns, never inside emit().
    immediate_acks_.emplace_back(&task, *id);
  }
}

void SpoutExecutor::on_message(wire::Message& message) {
  if (message.kind != wire::MessageKind::spout_ack &&
      message.kind != wire::MessageKind::spout_fail) {
    worker_.log().error("spout executor got an unexpected message kind {}",
                        static_cast<int>(message.kind));
    return;
  }
  // Superseded: the spout task now runs in another worker, which acts on its ids.
  if (worker_.spouts_fenced()) return;
  if (hold_this_round() || !held_verdicts_.empty()) [[unlikely]] {
    held_verdicts_.push_back(std::move(message));
    return;
  }
  take_verdict(message);
}

void SpoutExecutor::take_verdict(wire::Message& message) {
  SpoutTask* task = task_of(message.task);
  if (task == nullptr) return;
  PendingTuple pending;
  if (!task->pending.take(message.root, pending)) return;  // already timed out
  if (message.kind == wire::MessageKind::spout_ack) {
    task->metrics->acked.add();
    task->metrics->complete_latency.record(latency_now_ns() - pending.emit_ns);
    if (task->spout) call(*task, "ack", [&] { task->spout->ack(pending.id); });
  } else {
    task->metrics->failed.add();
    if (task->spout) call(*task, "fail", [&] { task->spout->fail(pending.id); });
  }
}

std::int64_t SpoutExecutor::on_timers(std::int64_t now) {
  if (discarding()) {
    // The stop's drain ran out: no more user code; what is pending stays pending.
    update_pending();
    return k_never;
  }
  expire_due(now);
  if (hold_this_round()) [[unlikely]] {
    update_pending();
    return std::min(next_rotation_ns_, now + k_hold_poll_ns);
  }
  run_callbacks();
  update_pending();
  std::int64_t next = next_rotation_ns_;
  if (worker_.spouts_fenced()) return next;  // superseded: its successor speaks for its tasks
  for (auto& task : tasks_) next = std::min(next, send_watermark(*task, now));
  return next;
}

bool SpoutExecutor::produce() {
  // The epoch first: its bump follows the change of active(), so this round sees that change.
  const std::uint64_t epoch = worker_.activation_epoch();
  bool active = worker_.active();
  const bool held = hold_this_round();
  round_checked_ = false;  // the round ends here
  if (worker_.spouts_fenced()) {
    held_verdicts_.clear();
  } else if (!held && !held_verdicts_.empty()) [[unlikely]] {
    std::vector<wire::Message> verdicts = std::move(held_verdicts_);
    held_verdicts_.clear();
    for (wire::Message& m : verdicts) take_verdict(m);
    run_callbacks();
  }
  if (active != was_active_) {
    for (auto& task : tasks_) {
      if (task->broken) continue;
      if (active) {
        call(*task, "activate", [&] { task->spout->activate(); });
      } else {
        call(*task, "deactivate", [&] { task->spout->deactivate(); });
      }
    }
    was_active_ = active;
  }
  bool emitted_any = false;
  if (active && !held) {
    const std::size_t rounds = worker_.settings().batch_size;
    for (auto& task : tasks_) {
      if (task->broken) continue;
      for (std::size_t r = 0; r < rounds; ++r) {
        if (task->max_pending > 0 &&
            task->pending.size() >= static_cast<std::size_t>(task->max_pending)) {
          break;
        }
        if (worker_.spouts_fenced()) break;
        task->emitted = false;
        call(*task, "next_tuple", [&] { task->spout->next_tuple(); });
        if (!immediate_acks_.empty() || !expired_.empty()) run_callbacks();
        if (!task->emitted) break;
        emitted_any = true;
      }
    }
  }
  update_pending();
  activation_seen_.store(epoch, std::memory_order_release);
  if (emitted_any) {
    empty_rounds_.store(0, std::memory_order_release);
  } else {
    empty_rounds_.fetch_add(1, std::memory_order_acq_rel);
  }
  return emitted_any;
}

}  // namespace

std::unique_ptr<Executor> make_spout_executor(WorkerImpl& worker, detail::ExecutorPlan plan) {
  return std::make_unique<SpoutExecutor>(worker, std::move(plan));
}

}  // namespace gale::worker
