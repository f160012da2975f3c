#pragma once

// What the event-time window engines (time_windows.hpp, merging_sessions.hpp) hand the windowed
// bolt: windows that fire, and entries that leave without being shown.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <gale/value.hpp>

namespace gale::detail {

// The accumulator operations of an incremental aggregate over entries E (WindowAggregate for
// tuples; a test's own for ints).
template <class E>
class AggregateOps {
 public:
  virtual ~AggregateOps() = default;
  virtual Value create() = 0;
  virtual void add(Value& accumulator, const E& entry) = 0;
  virtual void merge(Value& into, const Value& other) = 0;
};

// One window firing. Tuple windows: `tuples` (ordered by timestamp, then arrival), `fresh` (of
// them, those no earlier firing showed) and `expired` (left for good since the previous firing:
// the caller acks them after showing them). Aggregated windows: one firing per key, `key`, the
// merged `accumulator`, and in `tuples` the key's kept entries (what emits are anchored to).
template <class E, class Key>
struct Firing {
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::vector<E> tuples;
  std::vector<E> fresh;
  std::vector<E> expired;
  bool aggregated = false;
  Key key{};
  Value accumulator;
  bool late = false;  // fired again for an entry that arrived after the watermark passed its end
  std::string error;  // aggregates: what the aggregate threw while merging; the firing is void
};

// Orders aggregate keys so that the firings of a window come in the same order on every run and
// every worker: by type, then by content (scalars by value, lists and maps by their text).
inline bool value_less(const Value& a, const Value& b) {
  if (a.type() != b.type()) return a.type() < b.type();
  switch (a.type()) {
    case Value::Type::null:
      return false;
    case Value::Type::boolean:
      return !a.as_bool() && b.as_bool();
    case Value::Type::integer:
      return a.as_int() < b.as_int();
    case Value::Type::floating:
      return a.as_double() < b.as_double();
    case Value::Type::string:
      return a.as_string() < b.as_string();
    default:
      return a.to_string() < b.to_string();
  }
}

inline bool values_less(const Values& a, const Values& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (value_less(a[i], b[i])) return true;
    if (value_less(b[i], a[i])) return false;
  }
  return a.size() < b.size();
}

// Floor division for timestamps that may be negative.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace gale::detail
