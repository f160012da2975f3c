#pragma once

// Keyed session windows on timestamps and a watermark: the event-time sessions of a windowed bolt,
// and its processing-time sessions with aggregation (timestamp = arrival, watermark = the clock).
// Kept apart from the runtime like TimeWindows.
//
// An entry at ts opens the session [ts, ts + gap) of its key; sessions of a key that overlap
// merge (an entry arriving out of order can join two), as Flink's merging session windows do,
// and an aggregate's accumulators merge with them. A session fires when the watermark reaches
// its end, and is kept for the allowed lateness after that: an entry joining it meanwhile fires
// it again. It is dropped when the watermark reaches its end plus the lateness; its entries then
// leave (shown as expired in its firing when it fires and leaves at once, as it does without
// lateness; else handed back to be acked). An entry whose session would end, merged, before
// what is kept is late: add() refuses it.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "topology/src/window/firing.hpp"

namespace gale::detail {

// Thread: owned by one bolt task; not synchronised.
template <class E, class Key, class KeyHash>
class MergingSessions {
 public:
  using Out = Firing<E, Key>;
  static constexpr std::int64_t k_none = std::numeric_limits<std::int64_t>::min();

  // REQUIRES: gap_ms > 0, lateness_ms >= 0. `ops`: as for TimeWindows.
  MergingSessions(std::int64_t gap_ms, std::int64_t lateness_ms, AggregateOps<E>* ops)
      : gap_(gap_ms), lateness_(lateness_ms), ops_(ops) {}

  // Adds `entry` of `key` with timestamp `ts`. Returns false, keeping nothing, when it is late.
  // A session the watermark has passed that it joins fires again into `out`. `keep`: as for
  // TimeWindows::add. What ops->add() or merge() throws propagates, and nothing changes.
  bool add(E entry, const Key& key, std::int64_t ts, bool keep, std::vector<Out>& out) {
    auto found = open_.find(key);
    std::vector<Session>* list = found == open_.end() ? nullptr : &found->second;
    std::int64_t start = ts;
    std::int64_t end = ts + gap_;
    std::size_t lo = 0;  // sessions [lo, hi) of the key overlap [ts, ts + gap)
    std::size_t hi = 0;
    if (list != nullptr) {
      while (lo < list->size() && (*list)[lo].end <= ts) ++lo;
      hi = lo;
      while (hi < list->size() && (*list)[hi].start < ts + gap_) {
        start = std::min(start, (*list)[hi].start);
        end = std::max(end, (*list)[hi].end);
        ++hi;
      }
    }
    if (watermark_ != k_none && end + lateness_ <= watermark_) return false;

    Session merged;
    merged.start = start;
    merged.end = end;
    merged.seq = next_seq_++;
    if (ops_ != nullptr) {
      merged.accumulator = ops_->create();
      for (std::size_t i = lo; i < hi; ++i) ops_->merge(merged.accumulator, (*list)[i].accumulator);
      ops_->add(merged.accumulator, entry);
    }
    // Nothing has thrown: the sessions merge.
    if (list == nullptr) list = &open_[key];
    for (std::size_t i = lo; i < hi; ++i) {
      Session& s = (*list)[i];
      merged.items.insert(merged.items.end(), std::make_move_iterator(s.items.begin()),
                          std::make_move_iterator(s.items.end()));
      merged.kept.insert(merged.kept.end(), std::make_move_iterator(s.kept.begin()),
                         std::make_move_iterator(s.kept.end()));
    }
    // The merged sessions are disjoint and in order, so their items already are. The merged
    // session has not fired: it fires below when the watermark has passed its end, else when it
    // does.
    if (ops_ == nullptr) {
      auto at = merged.items.end();
      while (at != merged.items.begin() && std::prev(at)->ts > ts) --at;
      merged.items.insert(at, Item{std::move(entry), ts, false});
      ++held_;
    } else if (keep) {
      merged.kept.push_back(std::move(entry));
      ++held_;
    }
    if (hi == lo) ++sessions_;
    sessions_ -= hi - lo == 0 ? 0 : hi - lo - 1;
    list->erase(list->begin() + static_cast<std::ptrdiff_t>(lo),
                list->begin() + static_cast<std::ptrdiff_t>(hi));
    auto placed = list->insert(list->begin() + static_cast<std::ptrdiff_t>(lo), std::move(merged));
    if (watermark_ != k_none && placed->end <= watermark_) {
      fire(key, *placed, /*late=*/true, out);
    }
    return true;
  }

  // The watermark moved to `watermark`: fires every session whose end it reached (earliest end
  // first; the older session first for equal ends) and drops those whose lateness ran out.
  void advance(std::int64_t watermark, std::vector<Out>& out, std::vector<E>& leave) {
    if (watermark_ != k_none && watermark <= watermark_) return;
    watermark_ = watermark;
    struct Due {
      const Key* key;
      std::int64_t end;
      std::uint64_t seq;
    };
    std::vector<Due> due;
    for (auto& [key, list] : open_) {
      for (Session& s : list) {
        if (s.end <= watermark) due.push_back({&key, s.end, s.seq});
      }
    }
    std::sort(due.begin(), due.end(), [](const Due& a, const Due& b) {
      return a.end != b.end ? a.end < b.end : a.seq < b.seq;
    });
    for (const Due& d : due) {
      const auto node = open_.find(*d.key);
      std::vector<Session>& list = node->second;
      auto it =
          std::find_if(list.begin(), list.end(), [&](const Session& s) { return s.seq == d.seq; });
      const bool dropping = it->end + lateness_ <= watermark;
      bool fired_here = false;
      if (!it->fired) {
        fire(*d.key, *it, /*late=*/false, out);
        fired_here = true;
      }
      if (!dropping) continue;
      // A session that fires and leaves at once shows its tuples as expired in that firing.
      Out* shown = fired_here && ops_ == nullptr ? &out.back() : nullptr;
      for (Item& item : it->items) {
        if (shown != nullptr) {
          shown->expired.push_back(item.entry);
        } else {
          leave.push_back(std::move(item.entry));
        }
      }
      for (E& e : it->kept) leave.push_back(std::move(e));
      held_ -= it->items.size() + it->kept.size();
      --sessions_;
      list.erase(it);
      if (list.empty()) open_.erase(node);  // no later Due names this key: its list is empty
    }
  }

  [[nodiscard]] std::int64_t watermark() const noexcept { return watermark_; }
  // Entries kept, and sessions open.
  [[nodiscard]] std::size_t held() const noexcept { return held_; }
  [[nodiscard]] std::size_t sessions() const noexcept { return sessions_; }

 private:
  struct Item {
    E entry;
    std::int64_t ts;
    bool shown;
  };
  struct Session {
    std::int64_t start = 0;
    std::int64_t end = 0;     // the last entry's timestamp + gap
    std::uint64_t seq = 0;    // order of creation (of the last merge)
    std::vector<Item> items;  // tuple windows, by timestamp
    Value accumulator;        // aggregates
    std::vector<E> kept;      // aggregates: kept to ack and anchor
    bool fired = false;
  };

  void fire(const Key& key, Session& s, bool late, std::vector<Out>& out) {
    Out f;
    f.start = s.start;
    f.end = s.end;
    f.late = late;
    if (ops_ == nullptr) {
      for (Item& item : s.items) {
        f.tuples.push_back(item.entry);
        if (!item.shown) {
          item.shown = true;
          f.fresh.push_back(item.entry);
        }
      }
    } else {
      f.aggregated = true;
      f.key = key;
      f.accumulator = s.accumulator;
      f.tuples = s.kept;
    }
    s.fired = true;
    out.push_back(std::move(f));
  }

  const std::int64_t gap_;
  const std::int64_t lateness_;
  AggregateOps<E>* const ops_;
  std::unordered_map<Key, std::vector<Session>, KeyHash> open_;  // per key, by start
  std::int64_t watermark_ = k_none;
  std::uint64_t next_seq_ = 0;
  std::size_t held_ = 0;
  std::size_t sessions_ = 0;
};

}  // namespace gale::detail
