#include <gale/spouts/offset_tracker.hpp>

#include <algorithm>

namespace gale::spouts {

bool OffsetTracker::emitted(std::int64_t position, std::int64_t next) {
  if (position < committed_ || pending_.count(position) != 0 || done_.count(position) != 0) {
    return false;
  }
  pending_.emplace(position, next);
  return true;
}

bool OffsetTracker::done(std::int64_t position) {
  const auto it = pending_.find(position);
  if (it == pending_.end()) return false;
  done_up_to_ = std::max(done_up_to_, it->second);
  done_.insert(*it);
  pending_.erase(it);
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
