#pragma once

// Component counters summed over worker incarnations: a worker's counters start at zero when it
// starts, so nimbus adds the last counters each ended incarnation reported to the topology's
// totals (TopologyRecord::earlier_counters, kept in meta.msgpack) and shows those plus the
// counters of the incarnations that run now.

#include <cstdint>
#include <map>
#include <string>

#include <gale/value.hpp>

namespace gale::nimbus {

// The counters of one component, summed over its tasks (and workers, incarnations).
struct ComponentCounters {
  std::string kind;  // "spout", "bolt" or "acker"; empty when unknown
  std::int64_t emitted = 0;
  std::int64_t transferred = 0;
  std::int64_t acked = 0;
  std::int64_t failed = 0;
  std::int64_t executed = 0;
  std::int64_t errors = 0;
  std::int64_t latency_count = 0;  // spout trees whose complete latency was measured
  friend bool operator==(const ComponentCounters&, const ComponentCounters&) = default;
};

// By component id.
using CounterTotals = std::map<std::string, ComponentCounters>;

// Adds the counters of a worker heartbeat's `stats` map (component -> {kind, emitted, ...}) to
// `totals`. Entries that are not maps and counters that are not integers are skipped: stats are
// for display, and a worker of another version must not make nimbus refuse its heartbeat.
void add_stats(CounterTotals& totals, const Map& stats);

// {component: {kind, emitted, transferred, acked, failed, executed, errors, latency_count}} and
// back. counters_from_map throws cluster::ProtocolError naming a field that is not as written.
Map counters_to_map(const CounterTotals& totals);
CounterTotals counters_from_map(const Map& m);

}  // namespace gale::nimbus
