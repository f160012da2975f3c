#include "state/keyed_state.hpp"

#include <iterator>

#include <gale/errors.hpp>

#include "state/checkpoint_store.hpp"
#include "wire/codec.hpp"

namespace gale::state {

namespace {

// By StateKind: what snapshots and messages call each kind.
constexpr const char* k_kind_names[] = {"value", "map", "list"};

const char* kind_name(StateKind kind) { return k_kind_names[static_cast<int>(kind)]; }

StateKind kind_of(const std::string& name, std::string_view what) {
  for (int k = 0; k < static_cast<int>(std::size(k_kind_names)); ++k) {
    if (name == k_kind_names[k]) return static_cast<StateKind>(k);
  }
  throw CheckpointError(std::string(what) + ": unknown state kind '" + name + "'");
}

// A bolt that reads a value state as a map is a bug to name, not to paper over.
void check_kind(std::string_view name, StateKind actual, StateKind used) {
  if (actual != used) {
    throw Error("state '" + std::string(name) + "' is a " + kind_name(actual) +
                " state, used as a " + kind_name(used) + " state");
  }
}

const std::vector<Value> k_no_list;

}  // namespace

KeyedStateTable::Named& KeyedStateTable::writable(std::string_view name, StateKind kind) {
  auto it = states_.find(name);
  if (it == states_.end()) it = states_.emplace(std::string(name), Named{kind, {}}).first;
  check_kind(name, it->second.kind, kind);
  return it->second;
}

const KeyedStateTable::Entry* KeyedStateTable::entry(std::string_view name, StateKind kind) const {
  const auto it = states_.find(name);
  if (it == states_.end()) return nullptr;
  check_kind(name, it->second.kind, kind);
  const auto e = it->second.entries.find(current_);
  return e == it->second.entries.end() ? nullptr : &e->second;
}

const Value* KeyedStateTable::value(std::string_view name) const {
  const Entry* e = entry(name, StateKind::value);
  return e == nullptr ? nullptr : &e->value;
}

void KeyedStateTable::set_value(std::string_view name, Value v) {
  writable(name, StateKind::value).entries[current_].value = std::move(v);
}

void KeyedStateTable::clear(std::string_view name) {
  const auto it = states_.find(name);
  if (it != states_.end()) it->second.entries.erase(current_);
}

const Value* KeyedStateTable::map_get(std::string_view name, const Value& k) const {
  const Entry* e = entry(name, StateKind::map);
  if (e == nullptr) return nullptr;
  const auto it = e->map.find(k);
  return it == e->map.end() ? nullptr : &it->second;
}

void KeyedStateTable::map_put(std::string_view name, Value k, Value v) {
  writable(name, StateKind::map).entries[current_].map[std::move(k)] = std::move(v);
}

void KeyedStateTable::map_remove(std::string_view name, const Value& k) {
  Named& n = writable(name, StateKind::map);
  const auto it = n.entries.find(current_);
  if (it == n.entries.end()) return;
  it->second.map.erase(k);
  if (it->second.map.empty()) n.entries.erase(it);
}

std::size_t KeyedStateTable::map_size(std::string_view name) const {
  const Entry* e = entry(name, StateKind::map);
  return e == nullptr ? 0 : e->map.size();
}

const std::vector<Value>& KeyedStateTable::list(std::string_view name) const {
  const Entry* e = entry(name, StateKind::list);
  return e == nullptr ? k_no_list : e->list;
}

void KeyedStateTable::list_add(std::string_view name, Value v) {
  writable(name, StateKind::list).entries[current_].list.push_back(std::move(v));
}

std::size_t KeyedStateTable::keys(std::string_view name) const {
  const auto it = states_.find(name);
  return it == states_.end() ? 0 : it->second.entries.size();
}

// [name, kind, [[key..], payload], ...] per state; payload: the value, [k, v, k, v, ...] or the
// list.
std::string KeyedStateTable::snapshot() const {
  Values out;
  for (const auto& [name, named] : states_) {
    List entries;
    entries.reserve(named.entries.size());
    for (const auto& [key, e] : named.entries) {
      Value payload;
      switch (named.kind) {
        case StateKind::value:
          payload = e.value;
          break;
        case StateKind::map: {
          List flat;
          flat.reserve(2 * e.map.size());
          for (const auto& [k, v] : e.map) {
            flat.push_back(k);
            flat.push_back(v);
          }
          payload = Value(std::move(flat));
          break;
        }
        case StateKind::list:
          payload = Value(e.list);
          break;
      }
      entries.push_back(Value(List{Value(key.to_list()), std::move(payload)}));
    }
    out.push_back(
        Value(List{Value(name), Value(kind_name(named.kind)), Value(std::move(entries))}));
  }
  return wire::encode_values(out);
}

KeyedStateTable KeyedStateTable::restore(std::string_view bytes, std::string_view what) {
  const std::string prefix = std::string(what) + ": not a keyed state snapshot: ";
  Values states;
  try {
    states = wire::decode_values(bytes);
  } catch (const Error& e) {
    throw CheckpointError(prefix + e.what());
  }
  KeyedStateTable table;
  try {
    for (const Value& s : states) {
      const List& parts = s.as_list();
      if (parts.size() != 3)
        throw CheckpointError(prefix + "a state of " + std::to_string(parts.size()) + " parts");
      const std::string& name = parts[0].as_string();
      const StateKind kind = kind_of(parts[1].as_string(), what);
      Named& named = table.states_.emplace(name, Named{kind, {}}).first->second;
      for (const Value& item : parts[2].as_list()) {
        const List& pair = item.as_list();
        if (pair.size() != 2)
          throw CheckpointError(prefix + "an entry of state '" + name + "' is not [key, state]");
        Entry& e = named.entries[Values(pair[0].as_list())];
        switch (kind) {
          case StateKind::value:
            e.value = pair[1];
            break;
          case StateKind::map: {
            const List& flat = pair[1].as_list();
            if (flat.size() % 2 != 0)
              throw CheckpointError(prefix + "map state '" + name + "' has a key without a value");
            for (std::size_t i = 0; i < flat.size(); i += 2) e.map[flat[i]] = flat[i + 1];
            break;
          }
          case StateKind::list:
            e.list = pair[1].as_list();
            break;
        }
      }
    }
  } catch (const TypeError& e) {
    // Value's accessors throw it on a part of the wrong type.
    throw CheckpointError(prefix + e.what());
  }
  return table;
}

}  // namespace gale::state
