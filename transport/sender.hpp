#pragma once

// Internal to ZmqTransport (zmq_transport.hpp): the queue executors hand encoded batches to, and
// the sender thread that drains it into one PUSH socket per peer.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "transport/log_pacer.hpp"
#include "wire/stamp.hpp"

namespace spdlog {
class logger;
}

namespace gale::transport {

// One encoded batch for the worker hosting `task`.
struct Outgoing {
  std::int32_t task = 0;
  std::string bytes;
};

// What ZmqTransport::send() (executor threads), its owner thread (routes, stop) and the Sender
// share.
struct SendQueue {
  // Protected by mutex (taken once per batch by send(), and by the sender thread):
  mutable std::mutex mutex;
  std::condition_variable has_work;  // the sender waits for batches, routes or stop
  std::condition_variable has_room;  // send() waits for the queue to go under its limits
  std::deque<Outgoing> batches;      // encoded, not yet taken by the sender
  // What send() queued and ZeroMQ has not taken yet (the sender's per-peer backlog included).
  std::size_t queued_bytes = 0;
  std::size_t queued_batches = 0;
  std::vector<std::string> endpoint_of_task;  // indexed by task id; empty: no route
  std::uint64_t routes_version = 0;
  wire::SenderStamp stamp;  // in front of every message sent; changes with the routes
  bool stopping = false;
  std::chrono::steady_clock::time_point flush_deadline{};

  // Any thread:
  std::atomic<std::uint64_t> batches_sent{0};  // handed to ZeroMQ
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> dropped_batches{0};  // no route, send failed, or stopping
};

// Moves the batches of a SendQueue to ZeroMQ: takes what send() queued, routes each batch to the
// backlog of the peer hosting its task, puts the queue's stamp in front of it (wire/stamp.hpp; the
// one copy into the ZeroMQ message that sending makes anyway), hands each peer what it takes
// without blocking, and polls peers that would block (retry_poll at most) before looking at the
// queue again, so a slow peer keeps its batches (and their share of the queue's limits) instead of
// losing them. A route change moves the backlogs to their tasks' new peers and closes sockets to
// endpoints no longer used (linger 0). Batches without a route, or that ZeroMQ refuses with an
// error, are dropped and counted (acking replays them). Once the queue is stopping, run() returns when the backlog is
// empty or the flush deadline has passed, dropping what is left and closing every socket with a
// linger of what remains of the deadline (at most 1 s).
//
// Thread: constructed by ZmqTransport's owner thread; run() on the sender thread, which then owns
// every PUSH socket.
class Sender {
 public:
  // `context` and `queue` must outlive the Sender.
  Sender(zmq::context_t& context, SendQueue& queue, std::chrono::milliseconds retry_poll,
         std::shared_ptr<spdlog::logger> logger);
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Runs until the queue is stopping and flushed (see above). Calls std::abort() when polling
  // ZeroMQ fails (a broken invariant: the supervisor restarts the worker). REQUIRES: called once.
  void run();

 private:
  // One endpoint: its PUSH socket and the batches ZeroMQ did not take yet, oldest first.
  struct Peer {
    std::unique_ptr<zmq::socket_t> socket;
    std::deque<Outgoing> backlog;
    bool blocked = false;  // the last send would have blocked
  };
  // What take_queued() saw in the queue under its lock.
  struct Taken {
    bool stopping = false;
    std::chrono::steady_clock::time_point flush_deadline{};
    bool routes_changed = false;
  };

  // Returns the released budget to the queue, waits for work unless a backlog is pending, and
  // moves the queued batches to incoming_ and new routes to endpoint_of_task_.
  Taken take_queued();
  // Keeps the sockets of endpoints still in use, closes the others, and moves every backlog to
  // its tasks' new peers.
  void reroute();
  // Appends `out` to the backlog of its task's peer, or drops it when its task has no route.
  void route(Outgoing&& out);
  // The endpoint hosting `task`, or nullptr.
  const std::string* route_of(std::int32_t task) const;
  // The peer for `endpoint`, connecting its socket on first use.
  Peer& peer_for(const std::string& endpoint);
  // Hands each peer what it takes without blocking; returns true when some peer would block.
  bool send_backlogs();
  // Counts `out` as dropped; its budget is returned with the next take_queued().
  void drop(const Outgoing& out);
  // Logs the batches dropped for lack of a route, at most once a second.
  void log_drops();
  // At stop: returns false while a backlog remains and the flush deadline is ahead; otherwise
  // drops what is left, closes the sockets and returns true.
  bool finish_stop(std::chrono::steady_clock::time_point flush_deadline);
  // Waits up to retry_poll for a blocked peer to take more.
  void wait_for_blocked_peers();

  // Constant after construction:
  zmq::context_t& context_;
  SendQueue& queue_;
  std::chrono::milliseconds retry_poll_;
  std::shared_ptr<spdlog::logger> logger_;

  // Sender thread:
  std::map<std::string, Peer> peers_;
  std::vector<std::string> endpoint_of_task_;  // the routes as of routes_version_
  std::uint64_t routes_version_ = 0;
  wire::SenderStamp stamp_;  // as of routes_version_
  std::deque<Outgoing> incoming_;  // taken from the queue, not yet routed
  std::vector<zmq::pollitem_t> blocked_items_;
  std::size_t backlog_batches_ = 0;  // across peers
  // Sent or dropped since the last take_queued(), which returns them to the queue's budget.
  std::size_t released_bytes_ = 0;
  std::size_t released_batches_ = 0;
  std::uint64_t dropped_unlogged_ = 0;
  LogPacer drop_pacer_{std::chrono::seconds(1)};
  LogPacer send_error_pacer_{std::chrono::seconds(1)};
};

}  // namespace gale::transport
