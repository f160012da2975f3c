#include "worker/executor.hpp"
#include "worker/out_of_memory.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>

#include <pthread.h>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

#include "worker/worker_impl.hpp"

namespace gale::worker {

namespace {

constexpr std::int64_t k_never = std::numeric_limits<std::int64_t>::max();

// Messages ahead of the one being handled that are prefetched.
constexpr std::size_t k_prefetch_distance = 2;

// "1 field", "2 fields".
std::string count_of(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// Out of line and cold, so that the check in begin_emit() is one compare and a branch not taken.
[[noreturn, gnu::noinline, gnu::cold]] void throw_wrong_arity(const detail::StreamMeta& stream,
                                                              std::size_t values) {
  throw TopologyError("component '" + stream.component +
                      "' emitted a tuple with the wrong number of fields on stream '" +
                      stream.stream + "': expected " + count_of(stream.fields.size(), "field") +
                      " " + stream.fields.to_string() + " but got " + count_of(values, "value"));
}

void prefetch_message(const wire::Message& message) {
  // The lines a small tuple's message uses: its header, the values' header and first value.
  const char* p = reinterpret_cast<const char*>(&message);
  __builtin_prefetch(p);
  __builtin_prefetch(p + 64);
  __builtin_prefetch(p + 128);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TaskRouter

TaskRouter::TaskRouter(WorkerImpl& worker, const detail::ComponentPlan& component,
                       const Context& context, std::uint64_t seed,
                       std::function<void(const std::string&)> report_error)
    : component_(component) {
  groupers_.resize(component.streams.size());
  for (std::size_t s = 0; s < component.streams.size(); ++s) {
    const detail::StreamPlan& stream = component.streams[s];
    for (const detail::SubscriberPlan& sub : stream.subscribers) {
      GrouperArgs args;
      args.context = &context;
      args.stream = stream.meta.stream;
      args.local_tasks = worker.local_tasks();
      args.seed = seed + s * 7919 + groupers_[s].size() * 104729;
      args.report_error = report_error;
      groupers_[s].push_back(make_grouper(sub, std::move(args)));
    }
  }
}

int TaskRouter::stream_index(std::string_view stream) {
  if (stream.empty()) {
    // The collectors' default-stream emits; resolved once.
    if (default_stream_ == k_unresolved) {
      default_stream_ = component_.stream_index(default_stream);
    }
    if (default_stream_ >= 0) return default_stream_;
    stream = default_stream;  // undeclared: the error below names it
  }
  if (last_stream_ >= 0 && component_.streams[last_stream_].meta.stream == stream) {
    return last_stream_;
  }
  int index = component_.stream_index(stream);
  if (index < 0) {
    std::string declared;
    for (const auto& s : component_.streams) {
      declared += (declared.empty() ? "" : ", ") + s.meta.stream;
    }
    throw TopologyError("component '" + component_.def->id + "' emitted to undeclared stream '" +
                        std::string(stream) +
                        "' (declared: " + (declared.empty() ? "none" : declared) + ")");
  }
  last_stream_ = index;
  return index;
}

void TaskRouter::route(int stream, const Values& values, std::int32_t direct_task,
                       std::vector<std::int32_t>& out) {
  const detail::StreamPlan& sp = component_.streams[stream];
  if (sp.direct != (direct_task >= 0)) {
    throw TopologyError(
        sp.direct ? "component '" + component_.def->id + "' used emit() on direct stream '" +
                        sp.meta.stream + "'; use emit_direct()"
                  : "component '" + component_.def->id +
                        "' used emit_direct() on non-direct stream '" + sp.meta.stream + "'");
  }
  if (!sp.direct) {
    auto& groupers = groupers_[stream];
    for (auto& grouper : groupers) grouper->choose(values, out);
    return;
  }
  bool subscribed = false;
  for (const detail::SubscriberPlan& sub : sp.subscribers) {
    if (std::binary_search(sub.tasks->begin(), sub.tasks->end(), direct_task)) {
      out.push_back(direct_task);
      subscribed = true;
    }
  }
  if (!subscribed && !sp.subscribers.empty()) {
    throw TopologyError("component '" + component_.def->id + "' emitted directly to task " +
                        std::to_string(direct_task) + ", which does not subscribe to stream '" +
                        sp.meta.stream + "'");
  }
}

// ---------------------------------------------------------------------------------------------
// Executor

Executor::Executor(WorkerImpl& worker, detail::ExecutorPlan plan)
    : worker_(worker),
      plan_(std::move(plan)),
      queue_(worker.settings().queue_capacity),
      random_(std::random_device{}() ^ (static_cast<std::uint64_t>(plan_.tasks.front()) << 32)),
      batch_size_(worker.settings().batch_size),
      outbox_(static_cast<std::size_t>(worker.plan().layout().task_count()) + 1),
      last_error_log_ns_(plan_.tasks.size(), 0),
      suppressed_errors_(plan_.tasks.size(), 0) {}

Executor::~Executor() {
  if (thread_.joinable()) {
    request_stop();
    join();
  }
}

void Executor::start() {
  thread_ = std::thread([this] { run(); });
}

void Executor::wait_ready() {
  while (!ready_.load(std::memory_order_acquire)) {
    ready_.wait(false, std::memory_order_acquire);
  }
}

void Executor::request_stop() {
  stop_requested_.store(true, std::memory_order_release);
  queue_.wake();
}

void Executor::join() {
  if (thread_.joinable()) thread_.join();
}

void Executor::run() {
  name_thread();
  init();
  ready_.store(true, std::memory_order_release);
  ready_.notify_all();

  const common::Clock& clock = worker_.clock();
  clock_simulated_ = clock.simulated();
  bool busy = false;
  bool loaded = false;  // the last round took a full batch or more from the queue
  const std::chrono::nanoseconds spin_ns(worker_.settings().executor_spin_ns);
  const bool spin_light_load = worker_.settings().executor_spin_light_load;
  std::int64_t next_deadline = on_timers(clock.now_ns());
  while (true) {
    std::int64_t wait_ns = 0;
    if (!busy) {
      // Sleep until the next timer (in real time only with a real clock) or an idle poll, whichever
      // comes first; a push to the queue ends the wait early.
      wait_ns = idle_wait_ns();
      if (!clock.simulated() && next_deadline != k_never) {
        wait_ns = std::min(wait_ns, next_deadline - clock.now_ns());
      }
      if (wait_ns < 0) wait_ns = 0;
    }
    // Only an executor under load (its last round took at least a full batch) polls before
    // sleeping; one that is idle or sees a trickle sleeps at once, so light traffic costs no
    // polling. With topology.executor.spin.light.load any round with work counts as load.
    const auto spin = loaded ? spin_ns : std::chrono::nanoseconds::zero();
    std::size_t taken = queue_.pop_all(inbox_, std::chrono::nanoseconds(wait_ns), spent_, spin);
    // The one store of the round that shows progress to the stuck-executor watch.
    rounds_.store(rounds_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    loaded = taken >= worker_.settings().batch_size || (spin_light_load && (taken > 0 || busy));
    clock_reuses_left_ = 0;  // time passed while waiting
    for (wire::Batch& batch : inbox_) {
      const std::size_t n = batch.size();
      for (std::size_t i = 0; i < n; ++i) {
        // After the stop's drain ran out, no more user code: what is queued is dropped. Checked
        // per message (a load of a flag nobody writes until then) because one batch of a slow
        // bolt can take long.
        if (discard_.load(std::memory_order_relaxed)) [[unlikely]] {
          dropped_ += n - i;
          break;
        }
        // The messages were written on another core: fetch a few ahead so their lines arrive in
        // parallel instead of one miss at a time.
        if (i + k_prefetch_distance < n) prefetch_message(batch[i + k_prefetch_distance]);
        on_message(batch[i]);
      }
      batch.clear();
      spent_.push_back(std::move(batch));  // back to the queue's spares with the next pop_all
    }
    inbox_.clear();
    // Read before the clock: a request is made after the clock moved, so this run sees the new
    // time.
    std::uint64_t timer_epoch = timers_requested_.load(std::memory_order_acquire);
    clock_reading_ns_ = clock.now_ns();
    clock_reuses_left_ = clock_simulated_ ? 0 : k_clock_reuse;
    next_deadline = on_timers(clock_reading_ns_);
    bool stopping = stop_requested_.load(std::memory_order_acquire);
    busy = !stopping && produce();
    flush();
    if (taken > 0) worker_.note_processed(taken);
    // After the flush: whoever waits on the epoch then sees the timers' output as queued work.
    timers_seen_.store(timer_epoch, std::memory_order_release);
    if (stopping && (taken == 0 || !drains_before_stop() || discarding())) break;
  }
  shutdown();
  finished_.store(true, std::memory_order_release);
}

std::int64_t Executor::worker_clock_now_ns() const noexcept { return worker_.clock().now_ns(); }

void Executor::name_thread() const {
  // "gale:<component>:<first task>" as far as the kernel's 15 characters go, so `top -H`, perf
  // and debuggers tell the executors apart.
  const std::string component =
      plan_.component_index < 0 ? "acker" : worker_.plan().component(plan_.component_index).def->id;
  std::string name = "gale:" + component + ":" + std::to_string(plan_.tasks.front());
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(pthread_self(), name.c_str());
}

void Executor::init_task(TaskBase& task, std::int32_t id, const detail::ComponentPlan& component) {
  const detail::Plan& plan = worker_.plan();
  task.id = id;
  task.component = &component;
  task.metrics = &worker_.metrics(id);
  task.context = std::make_unique<Context>(plan.topology(), plan.layout(), component.config, id,
                                           &worker_.clock());
  task.router =
      std::make_unique<TaskRouter>(worker_, component, *task.context, random_.next(),
                                   [this, id](const std::string& e) { report_error(id, e); });
  if (component.watermark_stream >= 0) {
    task.next_watermark_ns = worker_.clock().now_ns() + component.watermark_interval_ms * 1'000'000;
  }
}

std::int64_t Executor::send_watermark(TaskBase& task, std::int64_t now) {
  const detail::ComponentPlan& component = *task.component;
  if (component.watermark_stream < 0 || task.broken)
    return std::numeric_limits<std::int64_t>::max();
  if (now < task.next_watermark_ns) return task.next_watermark_ns;
  task.next_watermark_ns = now + component.watermark_interval_ms * 1'000'000;
  if (task.event_time <= task.event_time_sent) return task.next_watermark_ns;
  task.event_time_sent = task.event_time;
  Values values{task.event_time};
  targets_.clear();
  task.router->route(component.watermark_stream, values, -1, targets_);
  const detail::StreamPlan& sp = task.router->stream(component.watermark_stream);
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const bool last = i + 1 == targets_.size();
    send_to(targets_[i], [&](wire::Message& m) { fill_tuple(m, task, sp, values, last); });
  }
  return task.next_watermark_ns;
}

const detail::StreamPlan& Executor::begin_emit(TaskBase& task, std::string_view stream,
                                               const Values& values, std::int32_t direct_task) {
  int s = task.router->stream_index(stream);
  const detail::StreamPlan& sp = task.router->stream(s);
  // Before routing: a fields grouping reads the values by position. A tuple that does not match
  // its stream's fields would be refused by every receiver instead (wire-format.md).
  if (values.size() != sp.meta.fields.size()) [[unlikely]] {
    throw_wrong_arity(sp.meta, values.size());
  }
  if (sp.timestamp_index >= 0) [[unlikely]] {
    // An event-time windowed bolt reads this stream: its highest timestamp goes on the watermark
    // stream (send_watermark). A value that is not an int is the receiving bolt's to report.
    const Value& ts = values[static_cast<std::size_t>(sp.timestamp_index)];
    if (ts.is_int() && ts.as_int() > task.event_time) task.event_time = ts.as_int();
  }
  targets_.clear();
  task.router->route(s, values, direct_task, targets_);
  task.metrics->emitted.add();
  task.metrics->transferred.add(targets_.size());
  if (worker_.capturing()) {
    worker_.capture({sp.meta.component_index, sp.meta.stream_index, task.id, values});
  }
  if (worker_.settings().debug) {
    worker_.log().info("emit {}:{} task {} {}", sp.meta.component, sp.meta.stream, task.id,
                       Value(values.to_list()).to_string());
  }
  return sp;
}

void Executor::flush_task(std::int32_t task) {
  wire::Batch& batch = outbox_[task];
  if (batch.empty()) return;
  // Leaves `batch` empty, maybe with a recycled capacity.
  worker_.deliver(task, batch, this, &refused_);
  if (!refused_.empty()) [[unlikely]]
    fail_refused();
}

void Executor::fail_refused() {
  // Taken out first: the acker_fail messages below go through send_to(), which may flush again.
  std::vector<transport::RefusedMessage> refused;
  refused.swap(refused_);
  for (transport::RefusedMessage& r : refused) {
    const wire::Message& m = r.message;
    if (m.kind != wire::MessageKind::tuple || m.meta == nullptr) {
      // Acking messages are a few dozen bytes: only an absurd max_message_bytes gets here. The
      // tree times out.
      report_error(plan_.tasks.front(), "an acking message for task " + std::to_string(m.task) +
                                            " cannot be sent to another worker: " + r.reason);
      continue;
    }
    const bool tracked = worker_.plan().acking() && !m.anchors.empty();
    report_error(m.source_task, "component '" + m.meta->component +
                                    "' emitted a tuple on stream '" + m.meta->stream +
                                    "' that cannot be sent to task " + std::to_string(m.task) +
                                    " in another worker: " + r.reason +
                                    (tracked ? "; its tuple tree fails" : "; it is dropped"));
    if (!tracked) continue;
    for (const detail::Anchor& a : m.anchors) {
      send_control(wire::MessageKind::acker_fail, worker_.plan().acker_for(a.root), a.root);
    }
  }
  refused.clear();
  if (refused_.empty()) refused_.swap(refused);  // keeps the capacity
}

void Executor::flush() {
  // Indices, not iterators: deliver() may block, but never re-enters send() on this thread.
  for (std::size_t i = 0; i < dirty_.size(); ++i) flush_task(dirty_[i]);
  dirty_.clear();
}

void Executor::report_error(std::int32_t task, std::string_view what) {
  TaskMetrics& m = worker_.metrics(task);
  m.errors.add();
  m.set_last_error(std::string(what));
  auto local = static_cast<std::size_t>(std::find(plan_.tasks.begin(), plan_.tasks.end(), task) -
                                        plan_.tasks.begin());
  if (local >= plan_.tasks.size()) local = 0;
  // Wall time, not the injected clock: this only paces the log.
  std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
  if (last_error_log_ns_[local] != 0 && now - last_error_log_ns_[local] < 1'000'000'000) {
    ++suppressed_errors_[local];
    return;
  }
  last_error_log_ns_[local] = now;
  const std::string& component = worker_.plan().layout().component_of(task);
  if (suppressed_errors_[local] > 0) {
    worker_.log().error("{} task {}: {} ({} similar errors suppressed in the last second)",
                        component, task, what, suppressed_errors_[local]);
    suppressed_errors_[local] = 0;
  } else {
    worker_.log().error("{} task {}: {}", component, task, what);
  }
}

namespace {

std::string describe_exception(std::string_view callback, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return std::string(callback) + " threw: " + e.what();
  } catch (...) {
    return std::string(callback) + " threw a non-standard exception";
  }
}

}  // namespace

void Executor::report_exception(std::int32_t task, std::string_view callback,
                                std::exception_ptr error) {
  exit_if_out_of_memory(task, callback, error);
  report_error(task, describe_exception(callback, error));
}

void Executor::exit_if_out_of_memory(std::int32_t task, std::string_view callback,
                                     std::exception_ptr error) {
  if (!is_out_of_memory(error)) return;
  exit_out_of_memory(worker_.log(), worker_.plan().layout().component_of(task) + " task " +
                                        std::to_string(task) + " " + std::string(callback));
}

void Executor::init_failed(std::int32_t task, std::string_view callback, std::exception_ptr error) {
  exit_if_out_of_memory(task, callback, error);
  const std::string what = describe_exception(callback, error);
  report_error(task, what);
  const bool spout =
      plan_.component_index >= 0 && worker_.plan().component(plan_.component_index).is_spout;
  init_errors_.push_back(std::string(spout ? "spout '" : "bolt '") +
                         worker_.plan().layout().component_of(task) + "' task " +
                         std::to_string(task) + ": " + what);
}

}  // namespace gale::worker
