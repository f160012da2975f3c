#pragma once

// The even scheduler (docs/cluster.md): spreads a topology's workers over supervisors and deals its
// executors round-robin to them. Pure functions over plain data, so they are tested without
// sockets, processes or clocks.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/protocol.hpp"

namespace gale::nimbus {

// One worker slot: a data port offered by a supervisor.
struct Slot {
  std::string supervisor;
  std::string host;
  std::int64_t port = 0;
  friend bool operator==(const Slot&, const Slot&) = default;
};

// The free slots of one live supervisor.
struct SupervisorSlots {
  std::string supervisor;
  std::string host;
  std::vector<std::int64_t> ports;
};

// Total number of slots in `free`.
std::size_t count_slots(const std::vector<SupervisorSlots>& free);

// Picks up to `count` slots, spreading over supervisors: supervisors ordered by most free slots
// first (ties by id), then one slot from each in turn (lowest port first) until `count` are taken.
// Returns fewer than `count` only when `free` holds fewer slots.
std::vector<Slot> spread_slots(std::vector<SupervisorSlots> free, std::size_t count);

// Deals executors (each a list of task ids) round-robin over `slots`: executor i goes to slot
// i % slots.size(). Every slot gets a worker, each with its tasks ascending.
// REQUIRES: !slots.empty() unless executors is empty.
std::vector<cluster::WorkerAssignment> deal_executors(
    const std::vector<std::vector<std::int32_t>>& executors, const std::vector<Slot>& slots);

// The number of workers a topology with `executors` executors runs on when it asks for
// `requested`: never more workers than executors (a worker without tasks does nothing), at least 1.
std::size_t workers_to_use(std::int64_t requested, std::size_t executors);

}  // namespace gale::nimbus
