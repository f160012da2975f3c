#include "worker/worker.hpp"

#include <algorithm>
#include <array>
#include <thread>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

#include "common/logging.hpp"
#include "transport/remote_transport.hpp"
#include "worker/executor.hpp"
#include "worker/worker_impl.hpp"

namespace gale::worker {

namespace {

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Config merged_config(const Topology&, Config config) { return config; }

// How long a producer blocked on a full queue waits before it does its housekeeping
// (Executor::while_blocked) and waits again: the lateness a blocked spout's timeouts may have.
constexpr std::chrono::milliseconds k_blocked_wait{20};

// Marks `executor` (may be null) as waiting for another worker while it lives.
class WaitingDownstream {
 public:
  explicit WaitingDownstream(Executor* executor) : executor_(executor) {
    if (executor_ != nullptr) executor_->set_waiting_downstream(true);
  }
  ~WaitingDownstream() {
    if (executor_ != nullptr) executor_->set_waiting_downstream(false);
  }
  WaitingDownstream(const WaitingDownstream&) = delete;
  WaitingDownstream& operator=(const WaitingDownstream&) = delete;

 private:
  Executor* executor_;
};

void sleep_until_or(std::int64_t deadline_ns, std::chrono::microseconds at_most) {
  const std::int64_t left = deadline_ns - steady_now_ns();
  if (left <= 0) return;
  std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
      std::chrono::nanoseconds(left), std::chrono::nanoseconds(at_most)));
}

}  // namespace

WorkerImpl::WorkerImpl(Topology topology, Config config, WorkerOptions options)
    : topology_(std::move(topology)),
      options_(std::move(options)),
      plan_(topology_, merged_config(topology_, std::move(config))),
      settings_(detail::RuntimeSettings::from(plan_.config())),
      clock_(options_.clock ? options_.clock : std::make_shared<common::SteadyClock>()),
      logger_(common::make_logger(options_.name, options_.log_file)) {
  const std::int32_t task_count = plan_.layout().task_count();
  if (options_.tasks.empty()) {
    for (std::int32_t t = 1; t <= task_count; ++t) local_tasks_.push_back(t);
  } else {
    local_tasks_ = options_.tasks;
    std::sort(local_tasks_.begin(), local_tasks_.end());
    for (std::int32_t t : local_tasks_) {
      if (t < 1 || t > task_count) {
        throw Error("worker asked to run task " + std::to_string(t) + ", but the topology has " +
                    std::to_string(task_count) + " tasks");
      }
    }
  }
  metrics_.resize(static_cast<std::size_t>(task_count) + 1);
  executor_of_task_.assign(static_cast<std::size_t>(task_count) + 1, nullptr);
  for (std::int32_t t : local_tasks_) metrics_[t] = std::make_unique<TaskMetrics>();

  for (const detail::ExecutorPlan& ep : plan_.executors()) {
    // An executor runs here when its tasks are assigned here (the scheduler assigns whole
    // executors).
    if (!std::binary_search(local_tasks_.begin(), local_tasks_.end(), ep.tasks.front())) continue;
    std::unique_ptr<Executor> executor;
    if (ep.component_index < 0) {
      executor = make_acker_executor(*this, ep);
    } else if (plan_.component(ep.component_index).is_spout) {
      executor = make_spout_executor(*this, ep);
    } else {
      executor = make_bolt_executor(*this, ep);
    }
    for (std::int32_t t : ep.tasks) executor_of_task_[t] = executor.get();
    executors_.push_back(std::move(executor));
  }
}

WorkerImpl::~WorkerImpl() { stop(std::chrono::milliseconds(0)); }

void WorkerImpl::start() {
  if (started_.exchange(true)) return;
  // Spouts stay inactive until every task opened or prepared: nothing is emitted into a task that
  // failed to, and nothing runs at all when one did.
  for (auto& e : executors_) e->start();
  for (auto& e : executors_) e->wait_ready();
  std::string failures;
  std::size_t failed = 0;
  for (auto& e : executors_) {
    for (const std::string& error : e->init_errors()) {
      failures += (failures.empty() ? "" : "; ") + error;
      ++failed;
    }
  }
  if (failed > 0) {
    const std::string message =
        (failed == 1 ? "a component failed to initialise: " : "components failed to initialise: ") +
        failures;
    logger_->error("{}; stopping", message);
    stop(std::chrono::milliseconds(0));
    throw ComponentInitError(message);
  }
  set_active(true);
  logger_->info("started {} executors for {} tasks ({} ackers)", executors_.size(),
                local_tasks_.size(), plan_.acker_tasks().size());
}

void WorkerImpl::activate() {
  if (spouts_fenced()) return;
  set_active(true);
}

void WorkerImpl::fence_spouts() {
  if (spouts_fenced_.exchange(true, std::memory_order_acq_rel)) return;
  set_active(false);
  logger_->warn("superseded by a newer assignment: spouts stopped, no more next_tuple/ack/fail");
}

void WorkerImpl::deactivate() { set_active(false); }

void WorkerImpl::set_active(bool active) {
  active_.store(active, std::memory_order_release);
  activation_epoch_.fetch_add(1, std::memory_order_acq_rel);
  wake_all();
}

void WorkerImpl::wait_spouts_saw_activation(std::int64_t deadline_ns) const {
  const std::uint64_t epoch = activation_epoch();
  for (const auto& e : executors_) {
    while (e->is_spout() && e->activation_seen() < epoch && steady_now_ns() < deadline_ns) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
}

void WorkerImpl::wake_all() {
  for (auto& e : executors_) e->queue().wake();
}

void WorkerImpl::sync_timers() {
  const std::uint64_t epoch = ++timer_epoch_;
  for (auto& e : executors_) e->request_timers(epoch);
  for (auto& e : executors_) {
    while (e->timer_epoch() < epoch) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

bool WorkerImpl::deliver(std::int32_t task, wire::Batch& batch, Executor* from,
                         std::vector<transport::RefusedMessage>* refused) {
  Executor* to = (task > 0 && static_cast<std::size_t>(task) < executor_of_task_.size())
                     ? executor_of_task_[task]
                     : nullptr;
  if (to == nullptr) {
    bool sent = false;
    if (options_.remote != nullptr && task > 0 && task <= plan_.layout().task_count()) {
      // The transport may block on a peer that does not take its batches: the executor then waits
      // on another worker, not on its own user code. Two relaxed stores per batch that crosses
      // the wire, which costs an encode and a ZeroMQ message anyway.
      WaitingDownstream waiting(from);
      if (refused != nullptr) {
        sent = options_.remote->send(task, std::move(batch), *refused);
      } else {
        // Not reached: only executors send to other workers, and they take what is refused.
        std::vector<transport::RefusedMessage> lost;
        sent = options_.remote->send(task, std::move(batch), lost);
        if (!lost.empty()) {
          logger_->error("dropped {} messages for task {} too large for the wire: {}", lost.size(),
                         task, lost.front().reason);
        }
      }
    } else {
      logger_->error("dropping {} messages for task {}, which no worker runs", batch.size(), task);
    }
    batch.clear();
    return sent;
  }
  const auto n = batch.size();
  // Counted before the push so that "enqueued == processed" never holds while a batch is queued.
  enqueued_.fetch_add(n, std::memory_order_acq_rel);
  bool data_to_bolt = to != from && !plan_.is_acker_task(task) && !plan_.is_spout_task(task);
  bool ok;
  if (!data_to_bolt) {
    ok = to->queue().push_control(batch);
  } else if (from == nullptr) {
    ok = to->queue().push(batch);  // the transport's receiving thread: no housekeeping of its own
  } else {
    // An executor blocked on a full queue still keeps its timers: it waits in bounded slices.
    BatchQueue::PushResult r;
    while ((r = to->queue().push_within(batch, k_blocked_wait)) == BatchQueue::PushResult::full) {
      // Blocked on the consumer: if anything is stuck, it is that one (reported by itself).
      from->set_waiting_downstream(true);
      from->while_blocked();
    }
    if (from->waiting_downstream()) from->set_waiting_downstream(false);
    ok = r == BatchQueue::PushResult::pushed;
  }
  if (!ok) {
    processed_.fetch_add(n, std::memory_order_acq_rel);  // dropped while stopping
    batch.clear();
  }
  return ok;
}

void WorkerImpl::receive(std::vector<wire::Message>&& messages) {
  if (messages.empty()) return;
  // An executor's outbox batch is for one task, so a received batch nearly always is too: hand it
  // on whole (the queue gives the vector's capacity back, for the transport's next decode).
  const std::int32_t first = messages.front().task;
  if (std::all_of(messages.begin(), messages.end(),
                  [&](const wire::Message& m) { return m.task == first; })) {
    deliver_received(first, messages);
    return;
  }
  // Regroup per destination task, keeping the order of each task's messages.
  std::vector<std::pair<std::int32_t, wire::Batch>> per_task;
  for (wire::Message& m : messages) {
    auto it = std::find_if(per_task.begin(), per_task.end(),
                           [&](const auto& p) { return p.first == m.task; });
    if (it == per_task.end()) {
      per_task.emplace_back(m.task, wire::Batch{});
      it = per_task.end() - 1;
      it->second.reserve(messages.size());
    }
    it->second.push_back(std::move(m));
  }
  for (auto& [task, batch] : per_task) deliver_received(task, batch);
}

void WorkerImpl::deliver_received(std::int32_t task, wire::Batch& batch) {
  const bool local = task > 0 && static_cast<std::size_t>(task) < executor_of_task_.size() &&
                     executor_of_task_[task] != nullptr;
  if (local) {
    deliver(task, batch, nullptr);
    return;
  }
  // Stale batches after a reassignment can come by the thousand: log once a second.
  dropped_since_log_ += batch.size();
  const std::int64_t now = steady_now_ns();
  if (now - last_drop_log_ns_ >= 1'000'000'000) {
    logger_->error(
        "dropped {} messages from other workers for tasks this worker does not "
        "run (last: task {}; assignment changed?)",
        dropped_since_log_, task);
    last_drop_log_ns_ = now;
    dropped_since_log_ = 0;
  }
  batch.clear();
}

void WorkerImpl::capture(CapturedEmit emit) {
  std::lock_guard lock(capture_mutex_);
  captured_.push_back(std::move(emit));
}

std::vector<CapturedEmit> WorkerImpl::captured() const {
  std::lock_guard lock(capture_mutex_);
  return captured_;
}

std::uint64_t WorkerImpl::pending_trees() const {
  std::uint64_t n = 0;
  for (const auto& e : executors_) n += e->pending();
  return n;
}

bool WorkerImpl::spouts_idle() const {
  for (const auto& e : executors_) {
    if (e->is_spout() && !e->idle()) return false;
  }
  return true;
}

StopSummary WorkerImpl::stop(std::chrono::milliseconds drain) {
  if (!started_.load() || stopped_.exchange(true)) return stop_summary_;
  const std::int64_t deadline = steady_now_ns() + drain.count() * 1'000'000;
  // Storm's order: deactivate, let pending trees finish, then stop. A spout may be in a round of
  // next_tuple() calls when the deactivation comes: the trees of that round count too.
  deactivate();
  wait_spouts_saw_activation(deadline);
  // A fenced worker's trees are the new owner's to complete or replay: no waiting for them.
  while (!spouts_fenced() && pending_trees() > 0 && steady_now_ns() < deadline) {
    sleep_until_or(deadline, std::chrono::milliseconds(5));
  }
  // The spouts leave (a spout blocked on a full queue only once it got through), then the bolts
  // finish what is queued.
  for (auto& e : executors_) {
    if (e->is_spout()) e->request_stop();
  }
  auto spouts_finished = [&] {
    return std::all_of(executors_.begin(), executors_.end(),
                       [](const auto& e) { return !e->is_spout() || e->finished(); });
  };
  while (!spouts_finished() && steady_now_ns() < deadline) {
    sleep_until_or(deadline, std::chrono::milliseconds(2));
  }
  while (!quiescent() && steady_now_ns() < deadline) {
    sleep_until_or(deadline, std::chrono::milliseconds(2));
  }
  // The drain is a time limit: past it, every executor drops what is queued and runs no more user
  // code but close()/cleanup(); trees not completed by then stay so.
  const bool cut_short = !spouts_finished() || !quiescent();
  if (cut_short) {
    for (auto& e : executors_) e->discard();
  }
  for (auto& e : executors_) e->request_stop();
  // Releases producers blocked on full queues (their batches are dropped). Without a cut, nothing
  // is queued any more.
  for (auto& e : executors_) e->queue().close();
  for (auto& e : executors_) e->join();

  stop_summary_.pending_trees = pending_trees();
  // What executors took and dropped, and what they never took.
  for (auto& e : executors_) stop_summary_.dropped_messages += e->dropped() + e->queue().size();
  stop_summary_.drain_ran_out =
      stop_summary_.pending_trees > 0 || stop_summary_.dropped_messages > 0;
  if (stop_summary_.drain_ran_out) {
    logger_->warn(
        "stopped after the drain of {} ms ran out: {} tuple trees left pending (their spouts will "
        "not see them acked), {} queued messages dropped",
        drain.count(), stop_summary_.pending_trees, stop_summary_.dropped_messages);
  } else {
    logger_->info("stopped");
  }
  return stop_summary_;
}

WorkerStats WorkerImpl::stats() const {
  WorkerStats stats;
  const auto& layout = plan_.layout();
  for (const std::string& component : layout.components()) {
    ComponentStats cs;
    cs.component = component;
    cs.is_acker = component == acker_component;
    const ComponentDef* def = topology_.find(component);
    cs.is_spout = def != nullptr && def->kind == ComponentKind::spout;
    std::array<std::uint64_t, LatencyHistogram::buckets> counts{};
    std::uint64_t sum_ns = 0, max_ns = 0;
    for (std::int32_t t : layout.tasks_of(component)) {
      if (metrics_[t] == nullptr) continue;
      const TaskMetrics& m = *metrics_[t];
      ++cs.tasks;
      cs.emitted += m.emitted.get();
      cs.transferred += m.transferred.get();
      cs.acked += m.acked.get();
      cs.failed += m.failed.get();
      cs.timed_out += m.timed_out.get();
      cs.executed += m.executed.get();
      cs.errors += m.errors.get();
      cs.pending += m.pending.get();
      m.complete_latency.merge_into(counts, sum_ns, max_ns);
      std::string error = m.last_error();
      if (!error.empty()) cs.last_error = std::move(error);
    }
    if (cs.tasks == 0) continue;
    cs.complete_latency = LatencyHistogram::summarize(counts, sum_ns, max_ns);
    stats.components.push_back(std::move(cs));
  }
  std::lock_guard lock(stuck_mutex_);
  stats.stuck = stuck_;
  return stats;
}

namespace {

// "task 3", "tasks 3-4", "tasks 3,5"
std::string tasks_text(const std::vector<std::int32_t>& tasks) {
  const bool range = tasks.size() > 1 && tasks.back() - tasks.front() + 1 ==
                                             static_cast<std::int32_t>(tasks.size());
  std::string text = tasks.size() == 1 ? "task " : "tasks ";
  if (range) return text + std::to_string(tasks.front()) + "-" + std::to_string(tasks.back());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    text += (i == 0 ? "" : ",") + std::to_string(tasks[i]);
  }
  return text;
}

}  // namespace

std::string StuckExecutor::describe() const {
  return "executor of " + kind + " '" + component + "' (" + tasks_text(tasks) +
         ") made no progress for " + std::to_string(secs) + " s inside " + inside + " with " +
         std::to_string(queued) + (queued == 1 ? " tuple" : " tuples") + " queued";
}

std::vector<StuckExecutor> WorkerImpl::check_progress() {
  const std::int64_t limit_ns = settings_.executor_stuck_ns;
  if (limit_ns <= 0 || !started_.load() || stopped_.load()) return {};
  const std::int64_t now = clock_->now_ns();
  if (!watching_) {
    watch_.assign(executors_.size(), ProgressWatch{});
    for (std::size_t i = 0; i < executors_.size(); ++i) {
      watch_[i].rounds = executors_[i]->rounds();
      watch_[i].since_ns = now;
    }
    watching_ = true;
  }
  std::vector<StuckExecutor> stuck;
  for (std::size_t i = 0; i < executors_.size(); ++i) {
    Executor& e = *executors_[i];
    ProgressWatch& w = watch_[i];
    const std::uint64_t rounds = e.rounds();
    // Asleep on an empty queue: idle, not stuck. Waiting for a full queue or the transport: the
    // consumer is what does not move.
    const bool moving = rounds != w.rounds || e.queue().consumer_waiting() ||
                        e.waiting_downstream() || e.finished();
    const std::string component = e.plan().component_index < 0
                                      ? std::string(acker_component)
                                      : plan_.component(e.plan().component_index).def->id;
    const char* kind = e.plan().component_index < 0 ? "acker" : e.is_spout() ? "spout" : "bolt";
    if (moving) {
      if (w.reported) {
        logger_->info("executor of {} '{}' ({}) moves again after {} s without progress", kind,
                      component, tasks_text(e.plan().tasks), (now - w.since_ns) / 1'000'000'000);
      }
      w = ProgressWatch{rounds, now, false};
      continue;
    }
    if (now - w.since_ns < limit_ns) continue;
    StuckExecutor s;
    s.component = component;
    s.kind = kind;
    s.tasks = e.plan().tasks;
    s.secs = (now - w.since_ns) / 1'000'000'000;
    s.queued = e.queue().size();
    s.inside = e.user_calls();
    if (!w.reported) logger_->warn("{}", s.describe());
    w.reported = true;
    stuck.push_back(std::move(s));
  }
  {
    std::lock_guard lock(stuck_mutex_);
    stuck_ = stuck;
  }
  return stuck;
}

// ---------------------------------------------------------------------------------------------
// Worker

Worker::Worker(Topology topology, Config config, WorkerOptions options)
    : impl_(std::make_unique<WorkerImpl>(std::move(topology), std::move(config),
                                         std::move(options))) {}
Worker::~Worker() = default;
void Worker::start() { impl_->start(); }
void Worker::activate() { impl_->activate(); }
void Worker::deactivate() { impl_->deactivate(); }
void Worker::fence_spouts() { impl_->fence_spouts(); }
void Worker::heartbeat_done(std::chrono::steady_clock::time_point started) {
  impl_->heartbeat_done(
      std::chrono::duration_cast<std::chrono::nanoseconds>(started.time_since_epoch()).count());
}
StopSummary Worker::stop(std::chrono::milliseconds drain) { return impl_->stop(drain); }
WorkerStats Worker::stats() const { return impl_->stats(); }
std::vector<StuckExecutor> Worker::check_progress() { return impl_->check_progress(); }
bool Worker::restart_when_stuck() const noexcept { return impl_->settings().restart_stuck; }
std::uint64_t Worker::pending_trees() const { return impl_->pending_trees(); }
bool Worker::spouts_idle() const { return impl_->spouts_idle(); }
bool Worker::quiescent() const { return impl_->quiescent(); }
std::uint64_t Worker::activity() const { return impl_->activity(); }
void Worker::wake_all() { impl_->wake_all(); }
void Worker::sync_timers() { impl_->sync_timers(); }
std::vector<CapturedEmit> Worker::captured() const { return impl_->captured(); }
void Worker::receive(std::vector<wire::Message>&& messages) { impl_->receive(std::move(messages)); }
const std::vector<std::int32_t>& Worker::tasks() const noexcept { return impl_->local_tasks(); }
const detail::Plan& Worker::plan() const noexcept { return impl_->plan(); }

}  // namespace gale::worker
