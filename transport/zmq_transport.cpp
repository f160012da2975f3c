#include "transport/zmq_transport.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

#include "common/logging.hpp"

namespace gale::transport {

namespace {

using Monotonic = std::chrono::steady_clock;

// One log line per interval at most; the lines in between are counted and reported with the next.
// Thread: one owner.
class LogPacer {
 public:
  explicit LogPacer(std::chrono::milliseconds interval) : interval_(interval) {}
  // True when a line may be logged now; `suppressed` is then how many were skipped before it.
  bool allow(std::uint64_t& suppressed) {
    auto now = Monotonic::now();
    if (logged_once_ && now - last_ < interval_) {
      ++skipped_;
      return false;
    }
    logged_once_ = true;
    last_ = now;
    suppressed = std::exchange(skipped_, 0);
    return true;
  }

 private:
  std::chrono::milliseconds interval_;
  Monotonic::time_point last_{};
  bool logged_once_ = false;
  std::uint64_t skipped_ = 0;
};

bool carries_data(const wire::Batch& batch) {
  return std::any_of(batch.begin(), batch.end(),
                     [](const wire::Message& m) { return m.kind == wire::MessageKind::tuple; });
}

}  // namespace

// The sender thread's state for one endpoint: its PUSH socket and the batches ZeroMQ did not take
// yet, oldest first.
struct ZmqTransport::Peer {
  std::unique_ptr<zmq::socket_t> socket;
  std::deque<Outgoing> backlog;
  bool blocked = false;  // the last send would have blocked
};

ZmqTransport::ZmqTransport(zmq::context_t& context, ZmqTransportOptions options)
    : context_(context),
      options_(std::move(options)),
      logger_(options_.logger ? options_.logger
                              : common::make_logger("transport-" + std::to_string(options_.port))),
      endpoint_("tcp://" + options_.host + ":" + std::to_string(options_.port)),
      pull_(context_, zmq::socket_type::pull) {
  if (options_.port < 1 || options_.port > 65535) {
    throw Error("data port " + std::to_string(options_.port) + " is out of range 1..65535");
  }
  pull_.set(zmq::sockopt::linger, 0);
  pull_.set(zmq::sockopt::maxmsgsize, options_.max_message_bytes);
  try {
    pull_.bind(endpoint_);
  } catch (const zmq::error_t& e) {
    throw Error("cannot bind the data port " + endpoint_ + ": " + e.what());
  }
}

ZmqTransport::~ZmqTransport() { stop(std::chrono::milliseconds(0)); }

void ZmqTransport::start(wire::StreamResolver resolve, Deliver deliver) {
  if (started_) return;
  started_ = true;
  resolve_ = std::move(resolve);
  deliver_ = std::move(deliver);
  sender_ = std::thread([this] { send_loop(); });
  receiver_ = std::thread([this] { receive_loop(); });
  logger_->info("data transport listening on {}", endpoint_);
}

void ZmqTransport::stop(std::chrono::milliseconds flush) {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    flush_deadline_ = Monotonic::now() + flush;
  }
  has_work_.notify_all();
  has_room_.notify_all();
  if (sender_.joinable()) sender_.join();
  stop_receiving_.store(true, std::memory_order_release);
  if (receiver_.joinable()) receiver_.join();
  pull_.close();
  auto s = stats();
  logger_->info(
      "data transport stopped: {} batches ({} bytes) sent, {} received, {} malformed, "
      "{} dropped",
      s.batches_sent, s.bytes_sent, s.batches_received, s.malformed_batches, s.dropped_batches);
}

void ZmqTransport::set_routes(std::vector<TaskRoute> routes) {
  std::vector<std::string> endpoint_of_task;
  for (TaskRoute& route : routes) {
    for (std::int32_t task : route.tasks) {
      if (task < 0) continue;
      if (static_cast<std::size_t>(task) >= endpoint_of_task.size()) {
        endpoint_of_task.resize(static_cast<std::size_t>(task) + 1);
      }
      endpoint_of_task[task] = route.endpoint;
    }
  }
  {
    std::lock_guard lock(mutex_);
    endpoint_of_task_ = std::move(endpoint_of_task);
    ++routes_version_;
  }
  has_work_.notify_one();
}

void ZmqTransport::limit_blocking(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    block_until_ = deadline;
  }
  has_room_.notify_all();
}

bool ZmqTransport::send(std::int32_t task, wire::Batch&& batch) {
  if (batch.empty()) return true;
  const bool data = carries_data(batch);
  // Encoded here, on the executor's thread, so that the single sender thread only moves bytes.
  Outgoing out{task, wire::encode_batch(batch)};
  const std::size_t size = out.bytes.size();
  std::unique_lock lock(mutex_);
  auto routed = [&] {
    return task >= 0 && static_cast<std::size_t>(task) < endpoint_of_task_.size() &&
           !endpoint_of_task_[task].empty();
  };
  bool timed_out = false;
  if (data) {
    auto room = [&] {
      return stopping_ || (queued_bytes_ <= options_.max_queued_bytes &&
                           queued_batches_ < options_.max_queued_batches);
    };
    // block_until_ may move while this waits (limit_blocking), so the wait is re-armed each time.
    while (!room()) {
      if (block_until_ == Monotonic::time_point::max()) {
        has_room_.wait(lock);
      } else if (has_room_.wait_until(lock, block_until_) == std::cv_status::timeout && !room()) {
        timed_out = true;
        break;
      }
    }
  }
  if (stopping_ || timed_out || !routed()) {
    dropped_batches_.fetch_add(1, std::memory_order_relaxed);
    if (!stopping_ && !timed_out) {
      ++no_route_unlogged_;
      auto now = Monotonic::now();
      if (now - last_no_route_log_ >= std::chrono::seconds(1)) {
        last_no_route_log_ = now;
        logger_->warn("no worker known for task {}: dropped {} batches (acking replays them)", task,
                      std::exchange(no_route_unlogged_, 0));
      }
    }
    return false;
  }
  queue_.push_back(std::move(out));
  queued_bytes_ += size;
  ++queued_batches_;
  const bool was_empty = queue_.size() == 1;
  lock.unlock();
  if (was_empty) has_work_.notify_one();
  return true;
}

ZmqTransportStats ZmqTransport::stats() const {
  ZmqTransportStats s;
  s.batches_sent = batches_sent_.load(std::memory_order_relaxed);
  s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
  s.batches_received = batches_received_.load(std::memory_order_relaxed);
  s.malformed_batches = malformed_batches_.load(std::memory_order_relaxed);
  s.dropped_batches = dropped_batches_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  s.queued_batches = queued_batches_;
  return s;
}

void ZmqTransport::receive_loop() {
  LogPacer pacer(std::chrono::seconds(1));
  std::vector<wire::Message> messages;
  while (!stop_receiving_.load(std::memory_order_acquire)) {
    zmq::pollitem_t item{pull_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      // Bounded so that stop() is noticed; a message wakes it at once.
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      logger_->critical("data transport: poll failed: {}", e.what());
      std::abort();  // a broken invariant: the supervisor restarts the worker
    }
    if ((item.revents & ZMQ_POLLIN) == 0) continue;
    // Drain what is there, but look at the stop flag now and then.
    for (int i = 0; i < 256 && !stop_receiving_.load(std::memory_order_acquire); ++i) {
      zmq::message_t message;
      if (!pull_.recv(message, zmq::recv_flags::dontwait)) break;
      messages.clear();
      try {
        wire::decode_batch(message.to_string_view(), resolve_, messages);
      } catch (const std::exception& e) {
        malformed_batches_.fetch_add(1, std::memory_order_relaxed);
        std::uint64_t suppressed = 0;
        if (pacer.allow(suppressed)) {
          logger_->warn("dropped a malformed batch of {} bytes on {}: {}{}", message.size(),
                        endpoint_, e.what(),
                        suppressed > 0
                            ? " (and " + std::to_string(suppressed) + " more since the last report)"
                            : std::string());
        }
        continue;
      }
      if (messages.empty()) continue;
      batches_received_.fetch_add(1, std::memory_order_relaxed);
      try {
        deliver_(std::move(messages));
      } catch (const std::exception& e) {
        logger_->error("data transport: delivering a batch failed: {}", e.what());
      }
    }
  }
}

void ZmqTransport::send_loop() {
  std::map<std::string, Peer> peers;
  std::vector<std::string> endpoint_of_task;
  std::uint64_t routes_version = 0;
  std::deque<Outgoing> incoming;
  LogPacer drop_pacer(std::chrono::seconds(1));
  std::vector<zmq::pollitem_t> blocked_items;
  std::size_t backlog_batches = 0;  // across peers

  auto route_of = [&](std::int32_t task) -> const std::string* {
    if (task < 0 || static_cast<std::size_t>(task) >= endpoint_of_task.size()) return nullptr;
    const std::string& e = endpoint_of_task[task];
    return e.empty() ? nullptr : &e;
  };
  auto peer_for = [&](const std::string& endpoint) -> Peer& {
    Peer& peer = peers[endpoint];
    if (!peer.socket) {
      peer.socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::push);
      peer.socket->set(zmq::sockopt::linger, 0);
      peer.socket->connect(endpoint);
    }
    return peer;
  };
  // Released bytes are returned to the queue's budget in one locked step per loop iteration.
  std::size_t released_bytes = 0, released_batches = 0;
  std::uint64_t dropped_unlogged = 0;
  auto drop = [&](const Outgoing& out) {
    released_bytes += out.bytes.size();
    ++released_batches;
    ++dropped_unlogged;
    dropped_batches_.fetch_add(1, std::memory_order_relaxed);
  };

  while (true) {
    bool stopping = false;
    Monotonic::time_point deadline;
    bool reroute = false;
    {
      std::unique_lock lock(mutex_);
      queued_bytes_ -= released_bytes;
      queued_batches_ -= released_batches;
      if (released_batches > 0) has_room_.notify_all();
      released_bytes = released_batches = 0;
      if (backlog_batches == 0) {
        has_work_.wait(lock, [&] {
          return !queue_.empty() || stopping_ || routes_version_ != routes_version;
        });
      }
      incoming.swap(queue_);
      if (routes_version_ != routes_version) {
        routes_version = routes_version_;
        endpoint_of_task = endpoint_of_task_;
        reroute = true;
      }
      stopping = stopping_;
      deadline = flush_deadline_;
    }

    if (reroute) {
      // Sockets to endpoints still in use are kept; the others close with linger 0 when `old`
      // goes (what they held is replayed by acking). Then the backlogs follow their tasks to their
      // new endpoints, in order per task (all of a task's batches are in one backlog).
      std::map<std::string, Peer> old;
      old.swap(peers);
      for (auto& [endpoint, peer] : old) {
        if (std::find(endpoint_of_task.begin(), endpoint_of_task.end(), endpoint) !=
            endpoint_of_task.end()) {
          peers[endpoint].socket = std::move(peer.socket);
        } else {
          logger_->info("data transport: {} no longer hosts any task; closed", endpoint);
        }
      }
      backlog_batches = 0;
      for (auto& [endpoint, peer] : old) {
        for (Outgoing& out : peer.backlog) {
          if (const std::string* to = route_of(out.task)) {
            peer_for(*to).backlog.push_back(std::move(out));
            ++backlog_batches;
          } else {
            drop(out);
          }
        }
      }
    }

    for (Outgoing& out : incoming) {
      if (const std::string* to = route_of(out.task)) {
        peer_for(*to).backlog.push_back(std::move(out));
        ++backlog_batches;
      } else {
        drop(out);
      }
    }
    incoming.clear();

    // Hand to ZeroMQ what each peer takes without blocking.
    bool any_blocked = false;
    for (auto& [endpoint, peer] : peers) {
      peer.blocked = false;
      while (!peer.backlog.empty()) {
        Outgoing& out = peer.backlog.front();
        zmq::send_result_t sent;
        try {
          sent = peer.socket->send(zmq::buffer(out.bytes), zmq::send_flags::dontwait);
        } catch (const zmq::error_t& e) {
          // EHOSTUNREACH and the like: the batch is lost, acking replays it.
          logger_->warn("data transport: sending to {} failed: {}", endpoint, e.what());
          drop(out);
          peer.backlog.pop_front();
          --backlog_batches;
          continue;
        }
        if (!sent) {
          peer.blocked = true;
          any_blocked = true;
          break;
        }
        batches_sent_.fetch_add(1, std::memory_order_relaxed);
        bytes_sent_.fetch_add(out.bytes.size(), std::memory_order_relaxed);
        released_bytes += out.bytes.size();
        ++released_batches;
        peer.backlog.pop_front();
        --backlog_batches;
      }
    }

    if (dropped_unlogged > 0 && !stopping) {
      std::uint64_t suppressed = 0;
      if (drop_pacer.allow(suppressed)) {
        logger_->warn(
            "data transport: dropped {} batches for tasks without a worker (acking "
            "replays them)",
            std::exchange(dropped_unlogged, 0));
      }
    }

    if (stopping) {
      auto now = Monotonic::now();
      if (backlog_batches == 0 || now >= deadline) {
        std::lock_guard lock(mutex_);
        // Whatever arrived after the last look at the queue is dropped with the backlog.
        for (const Outgoing& out : queue_) drop(out);
        queue_.clear();
        for (auto& [endpoint, peer] : peers) {
          for (const Outgoing& out : peer.backlog) drop(out);
        }
        queued_bytes_ -= released_bytes;
        queued_batches_ -= released_batches;
        if (backlog_batches > 0) {
          logger_->warn("data transport: stopped with {} batches not handed to ZeroMQ",
                        backlog_batches);
        }
        // ZeroMQ may still hold batches it accepted. Give them what is left of the flush time,
        // but never rely on it (DESIGN.md: the ZeroMQ pitfall): acking replays what is lost.
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        int linger = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000));
        for (auto& [endpoint, peer] : peers) {
          if (peer.socket) {
            peer.socket->set(zmq::sockopt::linger, linger);
            peer.socket->close();
          }
        }
        return;
      }
    }

    if (any_blocked) {
      // Wait for a blocked peer to take more, briefly, then look at the queue again.
      blocked_items.clear();
      for (auto& [endpoint, peer] : peers) {
        if (peer.blocked) blocked_items.push_back({peer.socket->handle(), 0, ZMQ_POLLOUT, 0});
      }
      try {
        zmq::poll(blocked_items.data(), blocked_items.size(), options_.retry_poll);
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) {
          logger_->critical("data transport: poll failed: {}", e.what());
          std::abort();
        }
      }
    }
  }
}

}  // namespace gale::transport
