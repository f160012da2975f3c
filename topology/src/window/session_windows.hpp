#pragma once

// Keyed session windows in processing time: the tuples of one key that arrived with less than
// `gap` between each and the next. A session holds [first arrival, last arrival + gap) and closes
// once the clock reaches its end; a tuple arriving at or after that end starts a new session.
// Kept apart from the runtime like WindowManager (E is a Tuple in the bolt, an int in the tests).

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "topology/src/window/window_manager.hpp"

namespace gale::detail {

// Thread: owned by one bolt task; not synchronised.
template <class E, class Key, class KeyHash>
class SessionWindows {
 public:
  using Window = typename WindowManager<E>::Window;

  explicit SessionWindows(std::int64_t gap_ms) : gap_(gap_ms) {}

  // `entry` of `key` arrived at `now_ms`: first closes the sessions that ended by then (its own
  // included), then adds it to its key's session.
  void add(Key key, E entry, std::int64_t now_ms, std::vector<Window>& out) {
    advance(now_ms, out);
    auto [it, fresh] = open_.try_emplace(std::move(key));
    Session& s = it->second;
    if (fresh) {
      s.first = now_ms;
      s.seq = next_seq_++;
    }
    s.last = now_ms;
    s.entries.push_back(std::move(entry));
    ++held_;
  }

  // The clock reads `now_ms`: closes every session whose end it reached, earliest end first (the
  // older session first for equal ends).
  void advance(std::int64_t now_ms, std::vector<Window>& out) {
    std::vector<typename Open::iterator> due;
    for (auto it = open_.begin(); it != open_.end(); ++it) {
      if (it->second.last + gap_ <= now_ms) due.push_back(it);
    }
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
      if (a->second.last != b->second.last) return a->second.last < b->second.last;
      return a->second.seq < b->second.seq;
    });
    for (auto& it : due) {
      Session& s = it->second;
      Window w;
      w.start = s.first;
      w.end = s.last + gap_;
      w.fresh = s.entries;
      w.tuples = s.entries;
      w.expired = std::move(s.entries);  // the session's tuples leave with it
      held_ -= w.expired.size();
      open_.erase(it);
      out.push_back(std::move(w));
    }
  }

  // Entries in open sessions.
  [[nodiscard]] std::size_t held() const noexcept { return held_; }
  // Open sessions.
  [[nodiscard]] std::size_t sessions() const noexcept { return open_.size(); }

 private:
  struct Session {
    std::vector<E> entries;
    std::int64_t first = 0;
    std::int64_t last = 0;
    std::uint64_t seq = 0;  // order of creation
  };
  using Open = std::unordered_map<Key, Session, KeyHash>;

  std::int64_t gap_;
  Open open_;
  std::size_t held_ = 0;
  std::uint64_t next_seq_ = 0;
};

}  // namespace gale::detail
