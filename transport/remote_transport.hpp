#pragma once

#include <cstdint>

#include <gale/export.hpp>

#include "wire/message.hpp"

namespace gale::transport {

// Carries batches to tasks that run in other workers (cluster mode). The worker calls send() for
// every batch addressed to a task it does not host; the transport hands what it receives to
// Worker::receive(). Thread-safety: send() is called concurrently from executor threads.
class GALE_API RemoteTransport {
 public:
  virtual ~RemoteTransport();
  // Queues `batch` (every message addressed to `task`) for the worker hosting `task`. May block
  // while the transport's outgoing buffer is full (backpressure). Returns false when the batch was
  // dropped because no worker is known for the task or the transport is stopping; acking replays
  // what a dropped batch carried.
  [[nodiscard]] virtual bool send(std::int32_t task, wire::Batch&& batch) = 0;
};

}  // namespace gale::transport
