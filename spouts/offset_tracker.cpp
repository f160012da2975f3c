#include <gale/spouts/offset_tracker.hpp>

#include <algorithm>

namespace gale::spouts {

// Called for every record a spout reads: new positions, mostly ascending, take no lookup but the
// insertion, and that one at the end of the map.
bool OffsetTracker::emitted(std::int64_t position, std::int64_t next) {
  if (position < committed_) return false;
  // Every done record starts below done_up_to_.
  if (position < done_up_to_ && done_.count(position) != 0) return false;
  const std::size_t before = pending_.size();
  pending_.emplace_hint(pending_.end(), position, next);
  return pending_.size() != before;  // unchanged: the position was pending already
}

bool OffsetTracker::done(std::int64_t position) {
  const auto it = pending_.find(position);
  if (it == pending_.end()) return false;
  done_up_to_ = std::max(done_up_to_, it->second);
  // The node moves from one map to the other: no allocation per acked record.
  auto node = pending_.extract(it);
  done_.insert(done_.end(), std::move(node));  // acks come mostly in order
  return true;
}

void OffsetTracker::reset(std::int64_t committed) noexcept {
  committed_ = committed;
  done_up_to_ = committed;
  pending_.clear();
  done_.clear();
}

std::int64_t OffsetTracker::committable() const noexcept {
  if (pending_.empty()) return done_up_to_;
  return std::max(committed_, pending_.begin()->first);
}

std::int64_t OffsetTracker::commit() noexcept {
  committed_ = committable();
  // What lies below the commit is settled for good.
  done_.erase(done_.begin(), done_.lower_bound(committed_));
  return committed_;
}

}  // namespace gale::spouts
