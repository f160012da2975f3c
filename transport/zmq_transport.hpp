#pragma once

// The data path between the workers of a topology: tuple batches over ZeroMQ (docs/cluster.md).
// Every worker binds one PULL socket at its slot (tcp://host:port) and keeps one PUSH socket per
// peer it sends to. One ZeroMQ message carries one encoded batch (docs/wire-format.md).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include <gale/export.hpp>

#include "transport/fence.hpp"
#include "transport/remote_transport.hpp"
#include "transport/sender.hpp"
#include "wire/codec.hpp"
#include "wire/stamp.hpp"

namespace spdlog {
class logger;
}

namespace gale::transport {

struct ZmqTransportOptions {
  std::string host = "127.0.0.1";  // the PULL socket binds tcp://host:port
  int port = 0;                    // this worker's slot; REQUIRED: 1..65535
  // send() blocks a data batch while more than this many encoded bytes, or this many batches,
  // wait to be handed to ZeroMQ (backpressure from slow peers onto the executors).
  std::size_t max_queued_bytes = std::size_t{32} << 20;
  std::size_t max_queued_batches = 4096;
  // The largest ZeroMQ message, both ways; the same in every worker of a cluster. send() never
  // sends a larger one: a batch that would be is split into several messages, and a message that
  // alone would be is refused (RemoteTransport::send). ZeroMQ drops larger incoming ones without
  // telling anyone (ZMQ_MAXMSGSIZE; guards memory against junk). <= 0: no limit.
  std::int64_t max_message_bytes = std::int64_t{256} << 20;
  // How long the sender waits for a blocked peer to accept more before looking at its queue again.
  std::chrono::milliseconds retry_poll{5};
  // Who this worker is on the wire: its tenure (the assignment version since which it runs its
  // tasks) and its lowest task; every message it sends carries them with its current assignment
  // version (set by set_routes). See docs/cluster.md, "Fencing".
  std::int64_t tenure = 0;
  std::int32_t first_task = 0;
  // The receiver thread wakes at least every 50 ms; a longer gap than stall_after means the
  // process did not run, and deliveries then wait up to stall_hold for a heartbeat (above).
  std::chrono::milliseconds stall_after{1000};
  std::chrono::milliseconds stall_hold{2500};
  std::shared_ptr<spdlog::logger> logger;  // null: a logger named "transport-<port>"
};

// Point-in-time counters (any thread).
struct ZmqTransportStats {
  std::uint64_t batches_sent = 0;  // handed to ZeroMQ
  std::uint64_t bytes_sent = 0;
  std::uint64_t batches_received = 0;   // decoded and delivered
  std::uint64_t malformed_batches = 0;  // received, failed to decode, dropped
  std::uint64_t dropped_batches = 0;    // given to send() but not sent: no route, or stopping
  std::uint64_t split_batches = 0;      // given to send() and sent as several messages (too large)
  std::uint64_t refused_messages = 0;   // never sent: too large for one message, or unencodable
  std::uint64_t queued_batches = 0;     // waiting for the sender now
  // Received from a superseded worker (its tenure is older than the one this receiver's
  // assignment gives its tasks) and dropped.
  std::uint64_t fenced_batches = 0;
  // The newest assignment version a received batch was stamped with (0: none yet).
  std::int64_t newest_peer_version = 0;
};

// Where a set of tasks runs: the data endpoint of a worker, e.g. tcp://10.0.0.2:6700, and since
// which assignment version that worker runs them (its tenure; 0: unknown).
struct TaskRoute {
  std::string endpoint;
  std::vector<std::int32_t> tasks;
  std::int64_t since = 0;
};

// Sends batches to the workers hosting tasks and delivers the batches it receives to its Worker.
//
// Sending: executor threads call send() concurrently; each encodes its batch on its own thread and
// hands the bytes, under one lock per batch, to a bounded queue drained by a single sender thread
// that owns every PUSH socket. The sender sends without blocking; a peer that does not take more
// (ZeroMQ's high-water mark reached) keeps its batches in the queue and is retried, so a slow peer
// slows the senders down instead of losing data. Batches that carry only acking messages never
// block in send() (like BatchQueue::push_control: an executor blocked on acks could close a
// deadlock cycle between two workers); their volume is bounded by max.spout.pending.
//
// Size: no ZeroMQ message is larger than max_message_bytes. A batch that would be goes as several
// messages, in order; a message that would be alone, or cannot be encoded, is handed back to the
// caller in `refused` (the worker fails its trees and reports it) and counted.
//
// Receiving: a receiver thread decodes each message with the stream resolver given to start() and
// hands it to Worker::receive(), which blocks while a destination queue is full (backpressure
// reaches the peers through ZeroMQ's high-water marks). Malformed batches are logged (rate limited)
// and dropped.
//
// Fencing: every message starts with this worker's stamp (wire/stamp.hpp: its assignment version,
// its tenure, its lowest task). The receiver drops, counts and logs (once a second at most) the
// batches of a sender its assignment says was superseded (transport/fence.hpp), and records the
// newest version it saw, so that the worker fetches a newer assignment early.
//
// Delivery: a batch handed to ZeroMQ while both ends live arrives, in order per peer. Batches lost
// with a crashed peer, or dropped when a route changes or at stop, are replayed by acking.
//
// Thread: constructed, started, stopped and destroyed by one owner thread; send() from any thread;
// set_routes() and stats() from any thread. The receiver and sender threads are private.
class GALE_API ZmqTransport final : public RemoteTransport {
 public:
  using Deliver = std::function<void(std::vector<wire::Message>&&)>;

  // Binds the PULL socket at tcp://host:port. `context` must outlive the transport. Throws
  // gale::Error naming the endpoint when it cannot bind (port in use, bad host).
  ZmqTransport(zmq::context_t& context, ZmqTransportOptions options);
  // stop() if still running.
  ~ZmqTransport() override;
  ZmqTransport(const ZmqTransport&) = delete;
  ZmqTransport& operator=(const ZmqTransport&) = delete;

  // Starts the sender and receiver threads; received batches are decoded with `resolve` and given
  // to `deliver` on the receiver thread. REQUIRES: called once, before any send().
  void start(wire::StreamResolver resolve, Deliver deliver);

  // Stops the sender after it handed to ZeroMQ what it could within `flush` (batches still waiting
  // then are dropped and counted), closes the PUSH sockets (their linger is bounded by what is left
  // of `flush`: best effort only, never relied upon), then stops the receiver and closes the PULL
  // socket. send() returns false from now on. Idempotent.
  void stop(std::chrono::milliseconds flush = std::chrono::seconds(2));

  // Replaces where tasks run, as of assignment `version` (a newer assignment moved peers). Queued
  // batches follow their task to its new endpoint; batches for tasks without a route are dropped;
  // sockets to endpoints no longer used are closed at once (linger 0: what they held is replayed
  // by acking). From now on, sent messages are stamped with `version` and received ones are
  // fenced by the routes' tenures.
  void set_routes(std::vector<TaskRoute> routes, std::int64_t version);

  // From `deadline` on, send() no longer waits for room for data: a batch that finds the queue over
  // its limits is dropped (send() returns false; acking replays it). Call it before stopping the
  // Worker, so that an executor blocked on a dead or stuck peer lets the Worker stop in bounded
  // time. Any thread.
  void limit_blocking(std::chrono::steady_clock::time_point deadline);

  // RemoteTransport: encodes `batch` on the calling thread and queues it for the worker hosting
  // `task`, as several messages when it is larger than max_message_bytes. Blocks while the queue
  // is over its limits and the batch carries data tuples (see limit_blocking). Returns false (the
  // batch is dropped) when no route is known for `task`, the transport is stopping, or the
  // blocking limit passed. Messages too large for one ZeroMQ message on their own, or that cannot
  // be encoded, are appended to `refused` and counted.
  bool send(std::int32_t task, wire::Batch&& batch, std::vector<RefusedMessage>& refused) override;
  using RemoteTransport::send;

  // tcp://host:port of the PULL socket.
  const std::string& endpoint() const noexcept { return endpoint_; }
  ZmqTransportStats stats() const;
  // Nimbus answered a heartbeat that the owner started at `started` (steady clock), and the owner
  // followed the reply: a receiver holding after a stall (see receive_loop) goes on once a
  // heartbeat started after the stall was answered (at most stall_hold). Any thread.
  void heartbeat_done(std::chrono::steady_clock::time_point started) noexcept {
    heartbeat_done_ns_.store(started.time_since_epoch().count(), std::memory_order_release);
  }
  // The newest assignment version a received batch was stamped with (0: none yet). Any thread.
  std::int64_t newest_peer_version() const noexcept {
    return newest_peer_version_.load(std::memory_order_relaxed);
  }

 private:
  void receive_loop();
  // After the receiver thread did not run for a long time (the process was stopped, e.g. SIGSTOP
  // during a partition, or starved), waits until nimbus answered a heartbeat started after
  // `stalled` (a time the process was not running), at most `stall_hold`, before delivering what
  // queued up meanwhile: the worker may have been
  // superseded while it did not run, and its spouts must not act on those batches before it
  // knows. Receiver thread.
  void hold_after_stall(std::chrono::steady_clock::time_point stalled);
  // Whether the fence admits a batch stamped `stamp`: refreshes the receiver's copy of the fence
  // when set_routes changed it, and counts and logs (paced) what it refuses. Receiver thread.
  bool admit(const wire::SenderStamp& stamp);
  // send() for a batch that does not fit in one message or holds a message that cannot be
  // encoded: splits it, hands back what cannot be sent. Rare, so out of the hot path.
  [[gnu::noinline]] bool send_split(std::int32_t task, wire::Batch& batch, bool data,
                                    std::vector<RefusedMessage>& refused);
  // Queues encoded batches for `task` in order, waiting for room when they carry data.
  bool enqueue(std::int32_t task, bool data, std::span<Outgoing> batches);

  // Constant after construction:
  zmq::context_t& context_;
  ZmqTransportOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string endpoint_;
  std::size_t max_message_bytes_;  // options_.max_message_bytes; SIZE_MAX for no limit
  zmq::socket_t pull_;             // the receiver thread's once started

  // Set by start() before the threads exist, then read by the receiver thread only:
  wire::StreamResolver resolve_;
  Deliver deliver_;

  // The hand-off to the sender thread (its own lock and counters), and that thread's state.
  SendQueue queue_;
  Sender sender_;

  // Protected by queue_.mutex (send() and limit_blocking()):
  std::chrono::steady_clock::time_point block_until_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point last_no_route_log_{};
  std::uint64_t no_route_unlogged_ = 0;

  // The fence set_routes builds for the receiver thread, which copies it when the generation moved.
  mutable std::mutex fence_mutex_;
  Fence next_fence_;  // protected by fence_mutex_
  std::atomic<std::uint64_t> fence_generation_{0};

  // Receiver thread:
  Fence fence_;
  std::uint64_t fence_seen_ = 0;
  LogPacer fence_pacer_{std::chrono::seconds(1)};

  // Owner thread:
  bool started_ = false;
  bool stopped_ = false;
  std::thread sender_thread_;
  std::thread receiver_;

  // Any thread:
  std::atomic<bool> stop_receiving_{false};
  std::atomic<std::uint64_t> batches_received_{0};
  std::atomic<std::uint64_t> malformed_batches_{0};
  std::atomic<std::uint64_t> split_batches_{0};
  std::atomic<std::uint64_t> refused_messages_{0};
  std::atomic<std::uint64_t> fenced_batches_{0};
  std::atomic<std::int64_t> newest_peer_version_{0};
  std::atomic<std::int64_t> heartbeat_done_ns_{0};  // steady start time of the last heartbeat
};

}  // namespace gale::transport
