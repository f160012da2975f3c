#pragma once

// Decides when the checkpoints of one deployment start, complete and are given up (Flink's
// CheckpointCoordinator, Heron's stateful checkpointer): checkpoint N starts every interval, is
// complete once every task reported its snapshot of N durable, and is aborted when a task declines
// it, when it is not complete within the timeout, or when the owner gives it up after a failure.
// One checkpoint at a time. Completion is recorded in the store before anyone is told, so that a
// coordinator that crashes in between finds it there and the commits are repeated, not lost.
// Pure logic on the owner's clock: the owner (nimbus, or the local runner) sends the barriers and
// the notifications it returns.

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gale/export.hpp>

#include "state/checkpoint_store.hpp"

namespace gale::state {

struct CoordinatorOptions {
  std::chrono::milliseconds interval{10'000};  // topology.checkpoint.interval.ms
  std::chrono::milliseconds timeout{60'000};   // a checkpoint not complete by then is aborted
  // Between the end of one checkpoint (complete or aborted) and the start of the next, so that a
  // slow checkpoint does not leave the topology checkpointing back to back.
  std::chrono::milliseconds min_pause{0};
};

// What the owner must do after a call, in this order: tell every task that `aborted` was given
// up (sinks drop what they pre-committed for it), that `completed` is complete (sinks commit,
// sources commit their positions), then start `triggered` (barriers from every spout task).
struct CoordinatorActions {
  std::optional<std::int64_t> triggered;
  std::optional<std::int64_t> completed;
  struct Abort {
    std::int64_t checkpoint;
    std::string reason;
  };
  std::vector<Abort> aborted;
  std::vector<std::string> warnings;  // for the owner's log: what went wrong but changes nothing
  [[nodiscard]] bool empty() const noexcept {
    return !triggered && !completed && aborted.empty() && warnings.empty();
  }
};

// Thread: one owner; not synchronised.
class GALE_API CheckpointCoordinator {
 public:
  // `tasks`: every task of the deployment (each reports every checkpoint). Times are the owner's
  // clock in nanoseconds; the first checkpoint starts one interval after `now_ns`.
  CheckpointCoordinator(std::string topology_id, std::set<std::int32_t> tasks,
                        CheckpointStore& store, CoordinatorOptions options, std::int64_t now_ns);

  // Starts a checkpoint when one is due and none is under way; aborts one past its timeout.
  CoordinatorActions tick(std::int64_t now_ns);
  // `task` stored its snapshot of `checkpoint`. An acknowledgement of a checkpoint that is not
  // the one under way (late, after an abort), or from a task that is not one of the deployment's,
  // changes nothing and is counted in stray_acknowledgements().
  CoordinatorActions acknowledge(std::int32_t task, std::int64_t checkpoint, std::int64_t now_ns);
  // `task` cannot take part in `checkpoint` (its alignment overflowed, its snapshot failed).
  CoordinatorActions decline(std::int32_t task, std::int64_t checkpoint, const std::string& reason,
                             std::int64_t now_ns);
  // A task failed or a worker died: the checkpoint under way, if any, is aborted, and every task
  // is to be restored from last_complete().
  CoordinatorActions abort_pending(const std::string& reason, std::int64_t now_ns);

  // The checkpoint a restore starts from (nothing before the first completes).
  [[nodiscard]] std::optional<std::int64_t> last_complete() const noexcept {
    return last_complete_;
  }
  // The checkpoint under way, if any.
  [[nodiscard]] std::optional<std::int64_t> pending() const noexcept { return pending_; }
  [[nodiscard]] std::int64_t stray_acknowledgements() const noexcept { return stray_; }

 private:
  void end_pending(std::int64_t now_ns);
  void abort(CoordinatorActions& out, std::string reason, std::int64_t now_ns);

  const std::string topology_id_;
  const std::set<std::int32_t> tasks_;
  CheckpointStore& store_;
  const CoordinatorOptions options_;
  std::optional<std::int64_t> last_complete_;
  std::optional<std::int64_t> pending_;
  std::set<std::int32_t> waiting_for_;  // tasks that have not acknowledged pending_
  std::int64_t pending_started_ns_ = 0;
  std::int64_t next_trigger_ns_ = 0;
  std::int64_t stray_ = 0;
};

}  // namespace gale::state
