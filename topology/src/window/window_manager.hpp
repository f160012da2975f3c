#pragma once

// Which tuples each window of a windowed bolt holds, and when a window closes: Storm's
// WindowManager with its count and time trigger and eviction policies, in processing time. Kept
// apart from the runtime (E is a Tuple in the bolt, an int in the unit tests) and given the time
// by the caller, so that it is tested without a clock.
//
// Entries are kept in arrival order with their arrival time. A window ends at `end` (exclusive):
// - duration length L: the entries that arrived in [end - L, end);
// - count length L: the last L entries that arrived before end.
// Windows with a sliding interval in time end at multiples of it and close when the clock reaches
// their end (advance()); windows with a sliding interval in tuples close with every interval-th
// entry, and end just after its arrival. An entry older than the window that closes can be in no
// later window: it leaves the manager in that window's `expired` list, for the caller to ack.

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "topology/src/window/window_spec.hpp"

namespace gale::detail {

// Thread: owned by one bolt task; not synchronised.
template <class E>
class WindowManager {
 public:
  struct Window {
    std::vector<E> tuples;   // in the window, oldest first
    std::vector<E> fresh;    // of `tuples`, those in no earlier window
    std::vector<E> expired;  // left for good since the previous window (or in none): to ack
    std::int64_t start = 0;
    std::int64_t end = 0;
  };

  explicit WindowManager(WindowSpec spec) : spec_(std::move(spec)) {}

  // An entry arrived at `now_ms`. First closes the windows by time that ended before `now_ms`
  // (a late tick), then adds the entry, then closes a window by count when this entry completes
  // its sliding interval. The closed windows are appended to `out`, oldest first.
  void add(E entry, std::int64_t now_ms, std::vector<Window>& out) {
    advance(now_ms, out);
    entries_.push_back({std::move(entry), now_ms});
    ++next_seq_;
    if (spec_.slide_count && ++since_close_ == *spec_.slide_count) {
      since_close_ = 0;
      close(now_ms + 1, out);
    }
  }

  // The clock reads `now_ms`: closes every window by time that ended at or before it, in order.
  void advance(std::int64_t now_ms, std::vector<Window>& out) {
    if (!spec_.slide_ms) return;
    const std::int64_t every = *spec_.slide_ms;
    if (next_end_ == 0) next_end_ = (now_ms / every + 1) * every;
    while (next_end_ <= now_ms) {
      if (entries_.empty()) {  // nothing to hold or expire: skip the empty windows at once
        next_end_ = (now_ms / every + 1) * every;
        break;
      }
      close(next_end_, out);
      next_end_ += every;
    }
  }

  // Entries held (in a window still to close, or waiting to expire).
  [[nodiscard]] std::size_t held() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    E value;
    std::int64_t at;
  };

  // Closes the window ending at `end` (exclusive). Entries are numbered by arrival (seq): the
  // window is [lo, hi), the fresh ones [max(lo, last_hi_), hi), the expired ones [first, lo).
  void close(std::int64_t end, std::vector<Window>& out) {
    const std::uint64_t first = next_seq_ - entries_.size();
    std::uint64_t hi = first;
    while (hi < next_seq_ && at(hi).at < end) ++hi;
    std::uint64_t lo = first;
    if (spec_.length_ms) {
      while (lo < hi && at(lo).at < end - *spec_.length_ms) ++lo;
    } else {
      const auto length = static_cast<std::uint64_t>(*spec_.length_count);
      lo = hi - first > length ? hi - length : first;
    }
    Window w;
    w.end = end;
    if (spec_.length_ms) {
      w.start = end - *spec_.length_ms;
    } else {
      w.start = lo < hi ? at(lo).at : end;
    }
    for (std::uint64_t s = lo; s < hi; ++s) {
      w.tuples.push_back(at(s).value);
      if (s >= last_hi_) w.fresh.push_back(at(s).value);
    }
    for (std::uint64_t s = first; s < lo; ++s) {
      w.expired.push_back(std::move(entries_.front().value));
      entries_.pop_front();
    }
    if (hi > last_hi_) last_hi_ = hi;
    if (w.tuples.empty() && w.expired.empty()) return;  // nothing to show
    out.push_back(std::move(w));
  }

  Entry& at(std::uint64_t seq) { return entries_[seq - (next_seq_ - entries_.size())]; }

  WindowSpec spec_;
  std::deque<Entry> entries_;
  std::uint64_t next_seq_ = 0;    // seq of the next entry to arrive
  std::uint64_t last_hi_ = 0;     // entries from here on were in no closed window yet
  std::int64_t since_close_ = 0;  // entries since the last window by count
  std::int64_t next_end_ = 0;     // end of the next window by time; 0: not started
};

}  // namespace gale::detail
