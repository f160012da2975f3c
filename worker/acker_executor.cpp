// Runs one acker task: the XOR bookkeeping of the tuple trees whose root ids hash to it.

#include <limits>

#include <spdlog/spdlog.h>

#include "worker/acker.hpp"
#include "worker/executor.hpp"
#include "worker/worker_impl.hpp"

namespace gale::worker {

namespace {

constexpr std::int64_t k_never = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t k_buckets = 4;

class AckerExecutor final : public Executor {
 public:
  // No user code: an acker only XORs. Reported all the same if it ever stops moving.
  const char* user_calls() const noexcept override { return "the acker's bookkeeping"; }
  AckerExecutor(WorkerImpl& worker, detail::ExecutorPlan plan)
      : Executor(worker, std::move(plan)), table_(k_buckets) {
    const detail::RuntimeSettings& s = worker_.settings();
    if (s.timeouts_enabled) {
      rotation_interval_ns_ = std::max<std::int64_t>(s.message_timeout_ns / (k_buckets - 1), 1);
    }
  }

 protected:
  void init() override {
    metrics_ = &worker_.metrics(plan_.tasks.front());
    if (rotation_interval_ns_ > 0) {
      next_rotation_ns_ = worker_.clock().now_ns() + rotation_interval_ns_;
    }
  }
  void shutdown() override {}

  void on_message(wire::Message& m) override {
    AckerTable::Result r;
    switch (m.kind) {
      case wire::MessageKind::acker_init:
        r = table_.init(m.root, m.value, m.spout_task);
        break;
      case wire::MessageKind::acker_ack:
        r = table_.ack(m.root, m.value);
        break;
      case wire::MessageKind::acker_fail:
        r = table_.fail(m.root);
        break;
      default:
        worker_.log().error("acker got an unexpected message kind {}", static_cast<int>(m.kind));
        return;
    }
    metrics_->executed.add();
    if (r.outcome == AckerTable::Outcome::pending) return;
    const bool completed = r.outcome == AckerTable::Outcome::completed;
    (completed ? metrics_->acked : metrics_->failed).add();
    send_control(completed ? wire::MessageKind::spout_ack : wire::MessageKind::spout_fail,
                 r.spout_task, m.root);
  }

  std::int64_t on_timers(std::int64_t now) override {
    while (now >= next_rotation_ns_) {
      next_rotation_ns_ += rotation_interval_ns_;
      table_.rotate();
    }
    metrics_->pending.set(table_.pending());
    return next_rotation_ns_;
  }

 private:
  AckerTable table_;
  TaskMetrics* metrics_ = nullptr;
  std::int64_t rotation_interval_ns_ = 0;
  std::int64_t next_rotation_ns_ = k_never;
};

}  // namespace

std::unique_ptr<Executor> make_acker_executor(WorkerImpl& worker, detail::ExecutorPlan plan) {
  return std::make_unique<AckerExecutor>(worker, std::move(plan));
}

}  // namespace gale::worker
