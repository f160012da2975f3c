#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gale/export.hpp>

#include "wire/message.hpp"

namespace gale::transport {

// A message a transport did not send because it can never cross the wire: encoded alone it is
// larger than one wire message may be, or one of its values exceeds a limit of the wire format
// (docs/wire-format.md). Sending it again would fail the same way, so the sender fails the tuple
// trees it belongs to and reports the error instead.
struct RefusedMessage {
  wire::Message message;  // its values released; kind, tasks, stream and anchors kept
  std::size_t bytes = 0;  // its encoded size; 0 when it cannot be encoded at all
  std::string reason;     // what is wrong with it, sizes and limits included
};

// Carries batches to tasks that run in other workers (cluster mode). The worker calls send() for
// every batch addressed to a task it does not host; the transport hands what it receives to
// Worker::receive(). Thread-safety: send() is called concurrently from executor threads.
class GALE_API RemoteTransport {
 public:
  virtual ~RemoteTransport();
  // Queues `batch` (every message addressed to `task`) for the worker hosting `task`. May block
  // while the transport's outgoing buffer is full (backpressure). Returns false when the batch was
  // dropped because no worker is known for the task or the transport is stopping; acking replays
  // what a dropped batch carried. Messages that can never be sent are not queued but appended to
  // `refused`, whatever the result; the caller fails their trees and reports them. Throws nothing
  // else but std::bad_alloc.
  [[nodiscard]] virtual bool send(std::int32_t task, wire::Batch&& batch,
                                   std::vector<RefusedMessage>& refused) = 0;
  // For callers with no tuple trees to fail (tests, tools): the same, dropping what is refused.
  [[nodiscard]] bool send(std::int32_t task, wire::Batch&& batch) {
    std::vector<RefusedMessage> refused;
    return send(task, std::move(batch), refused);
  }
};

}  // namespace gale::transport
