#pragma once

// Keyed state of one task in memory, snapshotted whole (exactly-once's in-memory backend). Each
// named state is a value, a map or a list per key, the key being the fields-grouping key of the
// tuple being processed (Flink's ValueState, MapState and ListState; Storm's KeyValueState is a
// map state under one key). The runtime sets the current key before it calls the bolt; a bolt's
// reads and writes then go to that key's entry.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <gale/export.hpp>
#include <gale/value.hpp>

namespace gale::state {

struct ValueHash {
  std::size_t operator()(const Value& v) const noexcept { return v.hash(); }
};
struct ValuesHash {
  std::size_t operator()(const Values& key) const noexcept {
    std::uint64_t h = 0x9e3779b97f4a7c15ull;
    for (const Value& v : key) h = (h ^ v.hash()) * 0x100000001b3ull;
    return h;
  }
};

enum class StateKind { value, map, list };

// Thread: the task's executor thread; not synchronised.
class GALE_API KeyedStateTable {
 public:
  // The key the next reads and writes go to.
  void set_current_key(const Values& key) { current_ = key; }
  [[nodiscard]] const Values& current_key() const noexcept { return current_; }

  // Value state `name` of the current key: null when never set (or cleared).
  [[nodiscard]] const Value* value(std::string_view name) const;
  void set_value(std::string_view name, Value v);
  void clear(std::string_view name);  // any kind: the current key's entry goes

  // Map state `name` of the current key.
  [[nodiscard]] const Value* map_get(std::string_view name, const Value& k) const;
  void map_put(std::string_view name, Value k, Value v);
  void map_remove(std::string_view name, const Value& k);
  [[nodiscard]] std::size_t map_size(std::string_view name) const;

  // List state `name` of the current key: empty when never added to.
  [[nodiscard]] const std::vector<Value>& list(std::string_view name) const;
  void list_add(std::string_view name, Value v);

  // Keys with an entry in state `name`.
  [[nodiscard]] std::size_t keys(std::string_view name) const;

  // Every state of every key, as bytes (the task's snapshot at a barrier).
  [[nodiscard]] std::string snapshot() const;
  // The table a snapshot holds; throws CheckpointError naming `what` when it is not one.
  [[nodiscard]] static KeyedStateTable restore(std::string_view bytes, std::string_view what);

 private:
  struct Entry {
    Value value;
    std::unordered_map<Value, Value, ValueHash> map;
    std::vector<Value> list;
  };
  struct Named {
    StateKind kind;
    std::unordered_map<Values, Entry, ValuesHash> entries;
  };
  // The state `name` for writing as `kind`; throws gale::Error when `name` is a state of another
  // kind (a bolt that reads a value state as a map is a bug to name, not to paper over).
  Named& writable(std::string_view name, StateKind kind);
  const Entry* entry(std::string_view name, StateKind kind) const;

  std::map<std::string, Named, std::less<>> states_;
  Values current_;
};

}  // namespace gale::state
