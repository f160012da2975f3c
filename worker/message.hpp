#pragma once

#include <cstdint>

#include <gale/tuple.hpp>

namespace gale::worker {

enum class MessageKind : std::uint8_t {
  tuple,       // a data tuple for `task`
  tick,        // a tick tuple for `task`
  acker_init,  // to an acker: a spout tuple `root` was emitted with XOR `value` by `spout_task`
  acker_ack,   // to an acker: XOR `value` into `root`
  acker_fail,  // to an acker: the tree `root` failed
  spout_ack,   // to a spout task: tree `root` completed
  spout_fail,  // to a spout task: tree `root` failed
};

// The unit executors exchange. Data tuples carry their Tuple; the acking messages carry only ids.
// Thread: owned by whichever executor holds it; moved through queues, never shared.
struct Message {
  MessageKind kind = MessageKind::tuple;
  std::int32_t task = 0;        // destination task
  std::int32_t spout_task = 0;  // acker_init only
  std::uint64_t root = 0;
  std::uint64_t value = 0;
  Tuple tuple;  // tuple and tick only
};

}  // namespace gale::worker
