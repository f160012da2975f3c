// Runs bolt tasks: executes input and tick tuples, and implements the bolt side of acking
// (anchored emits grow the tuple tree; ack/fail report to the acker owning each root).

#include <algorithm>
#include <cmath>
#include <limits>

#include <spdlog/spdlog.h>

#include <gale/bolt.hpp>
#include <gale/errors.hpp>

#include "worker/executor.hpp"
#include "worker/worker_impl.hpp"

namespace gale::worker {

namespace {

constexpr std::int64_t k_never = std::numeric_limits<std::int64_t>::max();

class BoltExecutor;
struct BoltTask;

// Thread: the bolt task's executor.
class BoltCollectorImpl final : public BoltCollector {
 public:
  BoltCollectorImpl(BoltExecutor& executor, BoltTask& task) : executor_(executor), task_(task) {}
  void ack(const Tuple& input) override;
  void fail(const Tuple& input) override;
  void report_error(std::string_view message) override;

 protected:
  void do_emit(std::string_view stream, std::span<const Tuple> anchors, Values&& values,
               std::int32_t direct_task) override;

 private:
  BoltExecutor& executor_;
  BoltTask& task_;
};

// Thread: the bolt task's executor.
// A broken bolt (prepare() failed) fails every input.
struct BoltTask : TaskBase {
  std::unique_ptr<Bolt> bolt;
  std::unique_ptr<BoltCollectorImpl> collector;
  std::int64_t tick_interval_ns = 0;  // 0: no ticks
  std::int64_t next_tick_ns = k_never;
};

class BoltExecutor final : public Executor {
 public:
  using Executor::Executor;

  void emit(BoltTask& task, std::string_view stream, std::span<const Tuple> anchors,
            Values&& values, std::int32_t direct_task);
  void ack(BoltTask& task, const Tuple& input);
  void fail(BoltTask& task, const Tuple& input);
  void error_from_user(BoltTask& task, std::string_view message) { report_error(task.id, message); }

 protected:
  void init() override;
  void shutdown() override;
  void on_message(wire::Message& message) override;
  std::int64_t on_timers(std::int64_t now) override;

 private:
  BoltTask* task_of(std::int32_t id) {
    // Tasks of one executor are contiguous ids.
    auto index = static_cast<std::size_t>(id - plan_.tasks.front());
    return index < tasks_.size() ? tasks_[index].get() : nullptr;
  }
  void execute(BoltTask& task, const Tuple& input);
  static Tuple tick_tuple();

  std::vector<std::unique_ptr<BoltTask>> tasks_;
};

void BoltCollectorImpl::ack(const Tuple& input) { executor_.ack(task_, input); }
void BoltCollectorImpl::fail(const Tuple& input) { executor_.fail(task_, input); }
void BoltCollectorImpl::report_error(std::string_view message) {
  executor_.error_from_user(task_, message);
}
void BoltCollectorImpl::do_emit(std::string_view stream, std::span<const Tuple> anchors,
                                Values&& values, std::int32_t direct_task) {
  executor_.emit(task_, stream, anchors, std::move(values), direct_task);
}

void BoltExecutor::init() {
  const detail::Plan& plan = worker_.plan();
  const detail::ComponentPlan& component = plan.component(plan_.component_index);
  std::int64_t tick_ns = 0;
  if (const Value* v = component.config.find(keys::topology_tick_tuple_freq_secs);
      v != nullptr && !v->is_null()) {
    // Whole seconds as in Storm, or a fraction (validated: at least a millisecond).
    tick_ns = std::llround(v->as_double() * 1e9);
  }
  const std::int64_t now = worker_.clock().now_ns();
  for (std::int32_t id : plan_.tasks) {
    auto task = std::make_unique<BoltTask>();
    task->collector = std::make_unique<BoltCollectorImpl>(*this, *task);
    if (tick_ns > 0) {
      task->tick_interval_ns = tick_ns;
      task->next_tick_ns = now + task->tick_interval_ns;
    }
    try {
      init_task(*task, id, component);
      task->bolt = component.def->bolt();
      if (!task->bolt) throw Error("the bolt factory returned null");
      task->bolt->prepare(*task->context, *task->collector);
    } catch (...) {
      init_failed(id, "prepare()", std::current_exception());
      task->broken = true;
    }
    tasks_.push_back(std::move(task));
  }
}

void BoltExecutor::shutdown() {
  for (auto& task : tasks_) {
    if (task->broken || !task->bolt) continue;
    try {
      task->bolt->cleanup();
    } catch (...) {
      report_exception(task->id, "cleanup", std::current_exception());
    }
  }
  for (auto& task : tasks_) task->bolt.reset();
}

void BoltExecutor::execute(BoltTask& task, const Tuple& input) {
  task.metrics->executed.add();
  if (task.broken) {
    fail(task, input);
    return;
  }
  try {
    task.bolt->execute(input, *task.collector);
  } catch (const FailedException&) {
    fail(task, input);  // a deliberate failure, not an error
  } catch (...) {
    report_exception(task.id, "execute", std::current_exception());
    fail(task, input);
  }
}

void BoltExecutor::on_message(wire::Message& message) {
  BoltTask* task = task_of(message.task);
  if (task == nullptr ||
      (message.kind != wire::MessageKind::tuple && message.kind != wire::MessageKind::tick)) {
    worker_.log().error("bolt executor got a message of kind {} for task {} it does not run",
                        static_cast<int>(message.kind), message.task);
    return;
  }
  // The input tuple is built in a block of this thread's pool; unless the bolt keeps a handle, the
  // block is free again when `input` goes out of scope, ready for the next message.
  detail::TupleData* data = detail::new_tuple_data();
  data->source_task = message.source_task;
  data->meta = message.kind == wire::MessageKind::tick ? &detail::tick_stream_meta() : message.meta;
  data->values = std::move(message.values);
  data->anchors = std::move(message.anchors);
  const Tuple input = detail::TupleAccess::wrap(data);
  execute(*task, input);
}

Tuple BoltExecutor::tick_tuple() {
  detail::TupleData* data = detail::new_tuple_data();
  data->meta = &detail::tick_stream_meta();
  return detail::TupleAccess::wrap(data);
}

std::int64_t BoltExecutor::on_timers(std::int64_t now) {
  std::int64_t next = k_never;
  if (discarding()) return next;  // the stop's drain ran out: no more ticks
  for (auto& task : tasks_) {
    next = std::min(next, send_watermark(*task, now));
    if (task->tick_interval_ns == 0) continue;
    // One tick per elapsed interval, so a simulated clock advanced by 3 intervals delivers 3.
    while (now >= task->next_tick_ns) {
      task->next_tick_ns += task->tick_interval_ns;
      execute(*task, tick_tuple());
    }
    next = std::min(next, task->next_tick_ns);
  }
  return next;
}

void BoltExecutor::emit(BoltTask& task, std::string_view stream, std::span<const Tuple> anchors,
                        Values&& values, std::int32_t direct_task) {
  const detail::StreamPlan& sp = begin_emit(task, stream, values, direct_task);
  const bool track = worker_.plan().acking() && !anchors.empty();
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const bool last = i + 1 == targets_.size();
    send_to(targets_[i], [&](wire::Message& m) {
      fill_tuple(m, task, sp, values, last);
      if (!track) return;
      // Storm's scheme: one new edge id per (target, anchor); it is XORed into the anchor's ack
      // value and recorded for every root of that anchor.
      detail::AnchorList& child = m.anchors;
      for (const Tuple& anchor : anchors) {
        detail::TupleData* a = detail::TupleAccess::data(anchor);
        if (a == nullptr || a->anchors.empty()) continue;
        std::uint64_t edge = random_.next_id();
        a->ack_val ^= edge;
        for (const detail::Anchor& root : a->anchors) {
          auto it = std::find_if(child.begin(), child.end(),
                                 [&](const detail::Anchor& c) { return c.root == root.root; });
          if (it == child.end()) {
            child.push_back({root.root, edge});
          } else {
            it->edge ^= edge;
          }
        }
      }
    });
  }
}

void BoltExecutor::ack(BoltTask& task, const Tuple& input) {
  detail::TupleData* d = detail::TupleAccess::data(input);
  if (d == nullptr || d->done) return;
  d->done = true;
  task.metrics->acked.add();
  if (!worker_.plan().acking()) return;
  for (const detail::Anchor& a : d->anchors) {
    send_control(wire::MessageKind::acker_ack, worker_.plan().acker_for(a.root), a.root,
                 a.edge ^ d->ack_val);
  }
}

void BoltExecutor::fail(BoltTask& task, const Tuple& input) {
  detail::TupleData* d = detail::TupleAccess::data(input);
  if (d == nullptr || d->done) return;
  d->done = true;
  task.metrics->failed.add();
  if (!worker_.plan().acking()) return;
  for (const detail::Anchor& a : d->anchors) {
    send_control(wire::MessageKind::acker_fail, worker_.plan().acker_for(a.root), a.root);
  }
}

}  // namespace

std::unique_ptr<Executor> make_bolt_executor(WorkerImpl& worker, detail::ExecutorPlan plan) {
  return std::make_unique<BoltExecutor>(worker, std::move(plan));
}

}  // namespace gale::worker
