#pragma once

#include <cstdint>
#include <vector>

#include <gale/value.hpp>

#include "topology/src/tuple_data.hpp"

namespace gale::wire {

enum class MessageKind : std::uint8_t {
  tuple,       // a data tuple for `task`
  tick,        // a tick tuple for `task`
  acker_init,  // to an acker: a spout tuple `root` was emitted with XOR `value` by `spout_task`
  acker_ack,   // to an acker: XOR `value` into `root`
  acker_fail,  // to an acker: the tree `root` failed
  spout_ack,   // to a spout task: tree `root` completed
  spout_fail,  // to a spout task: tree `root` failed
};

// The unit executors exchange. A data tuple travels by value inside its message (stream, source,
// anchors and values), so a batch is one contiguous array that the receiving core reads front to
// back; the receiver builds the Tuple its bolt sees from it on its own thread. The acking messages
// carry only ids. The members a message of each kind uses come first.
// Thread: owned by whichever executor holds it; moved through queues, never shared.
struct Message {
  // User-provided, so that value-initialization (a batch's emplace_back()) runs only the member
  // initializers instead of first zeroing all ~230 bytes, the unused value slots included.
  Message() noexcept {}

  MessageKind kind = MessageKind::tuple;
  std::int32_t task = 0;                     // destination task
  std::int32_t spout_task = 0;               // acker_init only
  std::int32_t source_task = 0;              // tuple only: the emitting task
  std::uint64_t root = 0;                    // acking messages
  std::uint64_t value = 0;                   // acker_init and acker_ack
  const detail::StreamMeta* meta = nullptr;  // tuple only: the stream it was emitted on
  Values values;                             // tuple only
  detail::AnchorList anchors;                // tuple only; empty when not tracked
};

// What executors and workers hand over at once: the messages of one batch.
using Batch = std::vector<Message>;

// An acking message (no tuple), e.g. for tests and benchmarks that make batches by hand.
inline Message control_message(MessageKind kind, std::int32_t task, std::int32_t spout_task,
                               std::uint64_t root, std::uint64_t value) {
  Message m;
  m.kind = kind;
  m.task = task;
  m.spout_task = spout_task;
  m.root = root;
  m.value = value;
  return m;
}

}  // namespace gale::wire
