#include "nimbus/counters.hpp"

#include <utility>

#include "cluster/protocol.hpp"

namespace gale::nimbus {

namespace {

// Every counter with its name on the wire and in meta.msgpack.
constexpr std::pair<const char*, std::int64_t ComponentCounters::*> k_counters[] = {
    {"emitted", &ComponentCounters::emitted},   {"transferred", &ComponentCounters::transferred},
    {"acked", &ComponentCounters::acked},       {"failed", &ComponentCounters::failed},
    {"executed", &ComponentCounters::executed}, {"errors", &ComponentCounters::errors},
    {"latency_count", &ComponentCounters::latency_count}};

}  // namespace

void add_stats(CounterTotals& totals, const Map& stats) {
  for (const auto& [component, value] : stats) {
    if (!value.is_map()) continue;
    const Map& s = value.as_map();
    ComponentCounters& c = totals[component];
    auto kind = s.find("kind");
    if (kind != s.end() && kind->second.is_string()) c.kind = kind->second.as_string();
    for (const auto& [name, member] : k_counters) {
      auto it = s.find(name);
      if (it != s.end() && it->second.is_int()) c.*member += it->second.as_int();
    }
  }
}

Map counters_to_map(const CounterTotals& totals) {
  Map out;
  for (const auto& [component, c] : totals) {
    Map m{{"kind", c.kind}};
    for (const auto& [name, member] : k_counters) m.emplace(name, c.*member);
    out.emplace(component, Value(std::move(m)));
  }
  return out;
}

CounterTotals counters_from_map(const Map& m) {
  CounterTotals totals;
  for (const auto& [component, value] : m) {
    if (!value.is_map()) {
      throw cluster::ProtocolError("field 'counters': component '" + component +
                                   "' is not a map");
    }
    const Map& s = value.as_map();
    ComponentCounters c;
    c.kind = cluster::get_string(s, "kind");
    for (const auto& [name, member] : k_counters) c.*member = cluster::get_int(s, name);
    totals.emplace(component, std::move(c));
  }
  return totals;
}

}  // namespace gale::nimbus
