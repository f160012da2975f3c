#pragma once

// Sliding and tumbling windows by duration, on timestamps and a watermark: the event-time windows
// of a windowed bolt, and its processing-time windows with aggregation (timestamp = arrival,
// watermark = the clock). Kept apart from the runtime (E is a Tuple in the bolt, an int in the unit
// tests) and given timestamps and watermarks by the caller, so that it is tested without a clock.
//
// Windows are [end - length, end) with `end` a multiple of the sliding interval (aligned at 0, as
// Flink aligns them). Entries are kept in panes of gcd(length, slide) ms, each in exactly the
// windows that cover it, so an entry is stored once however many windows it is in, and an
// aggregate keeps one accumulator per key and pane. A window fires when the watermark reaches
// its end; it is kept for the allowed lateness after that, and an entry of it arriving meanwhile
// fires it again (late). A pane leaves when the last window covering it is dropped (the watermark
// reached that window's end plus the lateness): its entries are shown as expired in the next
// window that fires (tuple windows; a window with nothing but expired entries fires too, at its
// end) or handed back to be acked (aggregates). An entry whose windows have all been dropped is
// late: add() refuses it.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <iterator>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "topology/src/window/firing.hpp"

namespace gale::detail {

// Thread: owned by one bolt task; not synchronised.
template <class E, class Key, class KeyHash>
class TimeWindows {
 public:
  using Out = Firing<E, Key>;
  static constexpr std::int64_t k_none = std::numeric_limits<std::int64_t>::min();

  // REQUIRES: 0 < slide_ms <= length_ms, lateness_ms >= 0. `ops` null: tuple windows; else an
  // aggregate per key (not owned; outlives this).
  TimeWindows(std::int64_t length_ms, std::int64_t slide_ms, std::int64_t lateness_ms,
              AggregateOps<E>* ops)
      : length_(length_ms),
        slide_(slide_ms),
        lateness_(lateness_ms),
        pane_(std::gcd(length_ms, slide_ms)),
        ops_(ops) {}

  // Adds `entry` (of `key`; aggregates only) with timestamp `ts`. Returns false, keeping nothing,
  // when the entry is late: every window it belongs to was dropped. Windows it belongs to that
  // the watermark has passed (kept for the lateness) fire again into `out`. `keep`: aggregates
  // keep the entry only when asked (to ack and anchor it later); tuple windows always keep it.
  // What ops->add() throws propagates, and nothing is kept.
  bool add(E entry, const Key& key, std::int64_t ts, bool keep, std::vector<Out>& out) {
    const std::int64_t p = floor_div(ts, pane_);
    if (watermark_ != k_none && last_end(p) + lateness_ <= watermark_) return false;
    Pane& pane = panes_[p];
    if (ops_ == nullptr) {
      Item item{std::move(entry), ts, next_seq_++, false};
      auto at = pane.items.end();
      while (at != pane.items.begin() && std::prev(at)->ts > ts) --at;  // in order: at the end
      pane.items.insert(at, std::move(item));
      ++held_;
    } else {
      add_to_slice(std::move(entry), key, p, keep, pane);
    }
    if (watermark_ == k_none) return true;
    for (std::int64_t end = first_end(p); end <= watermark_; end += slide_) {
      if (end + lateness_ <= watermark_) continue;  // dropped
      if (ops_ == nullptr) {
        fire_tuples(end, /*late=*/true, out);
      } else {
        fire_aggregates(end, &key, /*late=*/true, out);
      }
    }
    return true;
  }

  // The watermark moved to `watermark`: fires, in order, every window whose end it reached, and
  // drops what no window still kept covers. Aggregates append the entries that left to `leave`
  // (tuple windows show them as expired instead). A watermark that does not move on does nothing.
  void advance(std::int64_t watermark, std::vector<Out>& out, std::vector<E>& leave) {
    if (watermark_ != k_none && watermark <= watermark_) return;
    if (!next_end_) {
      next_end_ = panes_.empty() ? after(watermark) : first_end(panes_.begin()->first);
    }
    while (*next_end_ <= watermark) {
      if (panes_.empty() && expired_.empty()) {  // nothing to show: skip the empty windows
        next_end_ = after(watermark);
        break;
      }
      if (expired_.empty()) {
        const std::int64_t first = first_end(panes_.begin()->first);
        if (first > *next_end_) {
          next_end_ = first;
          continue;
        }
      }
      const std::int64_t end = *next_end_;
      if (ops_ == nullptr) {
        fire_tuples(end, /*late=*/false, out);
      } else {
        fire_aggregates(end, nullptr, /*late=*/false, out);
      }
      drop(end, leave);
      *next_end_ += slide_;
    }
    watermark_ = watermark;
    drop(watermark, leave);
  }

  [[nodiscard]] std::int64_t watermark() const noexcept { return watermark_; }
  // Entries kept (tuples in a window, expired ones still to show, aggregated entries to ack).
  [[nodiscard]] std::size_t held() const noexcept { return held_ + expired_.size(); }
  // Panes kept, and accumulators over all panes.
  [[nodiscard]] std::size_t panes() const noexcept { return panes_.size(); }
  [[nodiscard]] std::size_t accumulators() const noexcept { return accumulators_; }

 private:
  struct Item {
    E entry;
    std::int64_t ts;
    std::uint64_t seq;  // arrival order, for equal timestamps
    bool shown;         // in a window that fired
  };
  // Aggregates: one key's accumulator over one pane.
  struct Slice {
    std::int64_t pane;
    Value accumulator;
    std::vector<E> entries;  // kept to ack and anchor
  };
  // Aggregates: a key's slices, by pane, in one block (a window covers length/pane of them). Kept
  // together so that a tuple costs one lookup of its key (its slice is nearly always the last),
  // and a firing one pass over the keys.
  using Slices = std::vector<Slice>;
  struct Pane {
    std::vector<Item> items;  // tuple windows, by (ts, seq)
    std::size_t slices = 0;   // aggregates: keys with a slice of this pane
  };

  // Adds an entry of `key` to its slice of pane `p`, made when missing. What ops->add() throws
  // propagates; a slice or key made for it is taken back.
  void add_to_slice(E entry, const Key& key, std::int64_t p, bool keep, Pane& pane) {
    auto [kit, fresh_key] = keys_.try_emplace(key);
    Slices& slices = kit->second;
    if (!slices.empty() && slices.back().pane == p) {  // the usual case: the pane filling now
      Slice& slice = slices.back();
      ops_->add(slice.accumulator, entry);
      if (keep) {
        slice.entries.push_back(std::move(entry));
        ++held_;
      }
      return;
    }
    if (fresh_key)
      slices.reserve(static_cast<std::size_t>(std::min<std::int64_t>(length_ / pane_ + 1, 64)));
    auto at = slices.end();
    while (at != slices.begin() && std::prev(at)->pane > p) --at;
    const bool fresh = at == slices.begin() || std::prev(at)->pane != p;
    if (fresh) at = slices.insert(at, Slice{p, Value(), {}});
    Slice& slice = fresh ? *at : *std::prev(at);
    try {
      if (fresh) slice.accumulator = ops_->create();
      ops_->add(slice.accumulator, entry);
    } catch (...) {
      if (fresh) slices.erase(at);
      if (slices.empty()) keys_.erase(kit);
      if (pane.items.empty() && pane.slices == 0) panes_.erase(p);
      throw;
    }
    if (fresh) {
      ++pane.slices;
      ++accumulators_;
    }
    if (keep) {
      slice.entries.push_back(std::move(entry));
      ++held_;
    }
  }

  // The end of the last and of the first window covering pane p: windows [end - length, end) with
  // `end` a multiple of the slide; pane and window bounds are multiples of the pane.
  std::int64_t last_end(std::int64_t p) const {
    return floor_div(p * pane_ + length_, slide_) * slide_;
  }
  std::int64_t first_end(std::int64_t p) const {
    return (floor_div(p * pane_, slide_) + 1) * slide_;
  }
  // The first window end after `t`.
  std::int64_t after(std::int64_t t) const { return (floor_div(t, slide_) + 1) * slide_; }

  void fire_tuples(std::int64_t end, bool late, std::vector<Out>& out) {
    Out f;
    f.start = end - length_;
    f.end = end;
    f.late = late;
    const std::int64_t hi = floor_div(end, pane_);
    for (auto it = panes_.lower_bound(floor_div(f.start, pane_));
         it != panes_.end() && it->first < hi; ++it) {
      for (Item& item : it->second.items) {
        f.tuples.push_back(item.entry);
        if (!item.shown) {
          item.shown = true;
          f.fresh.push_back(item.entry);
        }
      }
    }
    if (!late) {
      f.expired = std::move(expired_);
      expired_.clear();
    }
    if (f.tuples.empty() && f.expired.empty()) return;
    out.push_back(std::move(f));
  }

  // One firing per key of the window ending at `end` (only `only`, when given), keys in no
  // particular order: each key's slices of the window merged.
  void fire_aggregates(std::int64_t end, const Key* only, bool late, std::vector<Out>& out) {
    const std::int64_t start = end - length_;
    const std::int64_t lo = floor_div(start, pane_);
    const std::int64_t hi = floor_div(end, pane_);
    auto fire_key = [&](const Key& key, Slices& slices) {
      Out f;
      bool any = false;
      for (Slice& slice : slices) {
        if (slice.pane < lo) continue;
        if (slice.pane >= hi) break;
        f.tuples.insert(f.tuples.end(), slice.entries.begin(), slice.entries.end());
        if (!any) {
          f.accumulator = slice.accumulator;
          any = true;
        } else if (f.error.empty()) {
          try {
            ops_->merge(f.accumulator, slice.accumulator);
          } catch (const std::exception& e) {
            f.error = std::string("merge() threw: ") + e.what();
          } catch (...) {
            f.error = "merge() threw a non-standard exception";
          }
        }
      }
      if (!any) return;
      f.start = start;
      f.end = end;
      f.late = late;
      f.aggregated = true;
      f.key = key;
      out.push_back(std::move(f));
    };
    if (only != nullptr) {
      const auto it = keys_.find(*only);
      if (it != keys_.end()) fire_key(it->first, it->second);
      return;
    }
    for (auto& [key, slices] : keys_) fire_key(key, slices);
  }

  // Drops the panes whose last window was dropped by watermark `w`.
  void drop(std::int64_t w, std::vector<E>& leave) {
    std::int64_t below = std::numeric_limits<std::int64_t>::min();  // aggregates: slices to drop
    while (!panes_.empty() && last_end(panes_.begin()->first) + lateness_ <= w) {
      Pane& pane = panes_.begin()->second;
      for (Item& item : pane.items) expired_.push_back(std::move(item.entry));
      held_ -= pane.items.size();
      if (pane.slices > 0) below = panes_.begin()->first + 1;
      panes_.erase(panes_.begin());
    }
    if (below == std::numeric_limits<std::int64_t>::min()) return;
    for (auto it = keys_.begin(); it != keys_.end();) {
      Slices& slices = it->second;
      while (!slices.empty() && slices.front().pane < below) {
        for (E& e : slices.front().entries) leave.push_back(std::move(e));
        held_ -= slices.front().entries.size();
        --accumulators_;
        slices.erase(slices.begin());
      }
      it = slices.empty() ? keys_.erase(it) : std::next(it);
    }
  }

  const std::int64_t length_;
  const std::int64_t slide_;
  const std::int64_t lateness_;
  const std::int64_t pane_;
  AggregateOps<E>* const ops_;
  std::map<std::int64_t, Pane> panes_;             // by pane number (start / pane_)
  std::unordered_map<Key, Slices, KeyHash> keys_;  // aggregates
  std::vector<E> expired_;                // tuple windows: left, to show in the next firing
  std::optional<std::int64_t> next_end_;  // the next window end to fire; unset before the first
  std::int64_t watermark_ = k_none;
  std::uint64_t next_seq_ = 0;
  std::size_t held_ = 0;
  std::size_t accumulators_ = 0;
};

}  // namespace gale::detail
