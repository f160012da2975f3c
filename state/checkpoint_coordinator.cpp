#include "state/checkpoint_coordinator.hpp"

#include <algorithm>
#include <utility>

namespace gale::state {

namespace {

std::int64_t ns(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
}

}  // namespace

CheckpointCoordinator::CheckpointCoordinator(std::string topology_id, std::set<std::int32_t> tasks,
                                             CheckpointStore& store, CoordinatorOptions options,
                                             std::int64_t now_ns)
    : topology_id_(std::move(topology_id)),
      tasks_(std::move(tasks)),
      store_(store),
      options_(options),
      last_complete_(store_.last_complete(topology_id_)),
      next_trigger_ns_(now_ns + ns(options.interval)) {
  if (tasks_.empty()) {
    throw CheckpointError("checkpoints of " + topology_id_ + ": a deployment without tasks");
  }
  if (options_.interval.count() <= 0 || options_.timeout.count() <= 0 ||
      options_.min_pause.count() < 0) {
    throw CheckpointError("checkpoints of " + topology_id_ +
                          ": the interval and the timeout must be positive, the pause not "
                          "negative");
  }
}

CoordinatorActions CheckpointCoordinator::tick(std::int64_t now_ns) {
  CoordinatorActions out;
  if (pending_ && now_ns - pending_started_ns_ >= ns(options_.timeout)) {
    abort(out, "not complete within " + std::to_string(options_.timeout.count()) + " ms", now_ns);
  }
  if (!pending_ && now_ns >= next_trigger_ns_) {
    pending_ = store_.next_checkpoint_id(topology_id_);
    waiting_for_ = tasks_;
    pending_started_ns_ = now_ns;
    out.triggered = pending_;
  }
  return out;
}

CoordinatorActions CheckpointCoordinator::acknowledge(std::int32_t task, std::int64_t checkpoint,
                                                      std::int64_t now_ns) {
  CoordinatorActions out;
  if (!pending_ || *pending_ != checkpoint || waiting_for_.erase(task) == 0) {
    ++stray_;
    return out;
  }
  if (!waiting_for_.empty()) return out;
  try {
    store_.complete(topology_id_, checkpoint);
  } catch (const CheckpointError& e) {
    abort(out, std::string("cannot record it complete: ") + e.what(), now_ns);
    return out;
  }
  last_complete_ = checkpoint;
  out.completed = checkpoint;
  end_pending(now_ns);
  // Retention: the snapshots a restore can still need are the last complete checkpoint's.
  try {
    store_.drop_before(topology_id_, checkpoint);
  } catch (const CheckpointError& e) {
    // Old snapshots left behind cost space, not correctness; the next completion tries again.
    out.warnings.push_back(std::string("cannot drop the snapshots before checkpoint ") +
                           std::to_string(checkpoint) + ": " + e.what());
  }
  return out;
}

CoordinatorActions CheckpointCoordinator::decline(std::int32_t task, std::int64_t checkpoint,
                                                  const std::string& reason, std::int64_t now_ns) {
  CoordinatorActions out;
  if (!pending_ || *pending_ != checkpoint || tasks_.count(task) == 0) return out;
  abort(out, "task " + std::to_string(task) + " declined it: " + reason, now_ns);
  return out;
}

CoordinatorActions CheckpointCoordinator::abort_pending(const std::string& reason,
                                                        std::int64_t now_ns) {
  CoordinatorActions out;
  if (pending_) abort(out, reason, now_ns);
  return out;
}

void CheckpointCoordinator::end_pending(std::int64_t now_ns) {
  pending_.reset();
  waiting_for_.clear();
  // The next one a whole interval after this one started, and at least the pause after it ended.
  next_trigger_ns_ =
      std::max(pending_started_ns_ + ns(options_.interval), now_ns + ns(options_.min_pause));
}

void CheckpointCoordinator::abort(CoordinatorActions& out, std::string reason,
                                  std::int64_t now_ns) {
  out.aborted.push_back({*pending_, std::move(reason)});
  end_pending(now_ns);
}

}  // namespace gale::state
