#pragma once

// Internal to the transport: which senders a receiver accepts batches from (docs/cluster.md,
// "Fencing").

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "wire/stamp.hpp"

namespace gale::transport {

// The receiver's view of who runs each task, as tenures: the assignment version since which the
// worker running a task in the receiver's assignment has run it. A batch is admitted when its
// sender's tenure is no older than the tenure of the worker the receiver knows for the sender's
// task: a superseded worker (its tasks moved, or its slot got other tasks, at a later version) is
// refused; the new owner, and any worker whose tasks did not change, are admitted whichever
// versions the two sides run. A sender with a task this receiver knows no worker for is admitted
// only when it runs a newer assignment than the receiver.
// Thread: one owner (the transport's receiver thread); built on any thread and handed over.
class Fence {
 public:
  // No assignment yet: admits every sender.
  Fence() = default;
  // `tenure_of_task[t]`: the tenure of the worker running task t; -1 when no worker runs it.
  Fence(std::int64_t version, std::vector<std::int64_t> tenure_of_task)
      : version_(version), tenure_of_task_(std::move(tenure_of_task)) {}

  // One bounds check and a compare per batch.
  bool admits(const wire::SenderStamp& stamp) const noexcept {
    const std::int64_t tenure = tenure_of(stamp.task);
    return tenure < 0 ? stamp.version > version_ : stamp.since >= tenure;
  }
  // The tenure this receiver knows for `task`, -1 when none.
  std::int64_t tenure_of(std::int32_t task) const noexcept {
    if (task < 0 || static_cast<std::size_t>(task) >= tenure_of_task_.size()) return -1;
    return tenure_of_task_[static_cast<std::size_t>(task)];
  }
  std::int64_t version() const noexcept { return version_; }

 private:
  std::int64_t version_ = std::numeric_limits<std::int64_t>::min();
  std::vector<std::int64_t> tenure_of_task_;
};

}  // namespace gale::transport
