#include "transport/sender.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

namespace gale::transport {

using Monotonic = std::chrono::steady_clock;

Sender::Sender(zmq::context_t& context, SendQueue& queue, std::chrono::milliseconds retry_poll,
               std::shared_ptr<spdlog::logger> logger)
    : context_(context), queue_(queue), retry_poll_(retry_poll), logger_(std::move(logger)) {}

void Sender::run() {
  while (true) {
    const Taken taken = take_queued();
    if (taken.routes_changed) reroute();
    for (Outgoing& out : incoming_) route(std::move(out));
    incoming_.clear();

    const bool any_blocked = send_backlogs();
    if (!taken.stopping) log_drops();
    if (taken.stopping && finish_stop(taken.flush_deadline)) return;
    if (any_blocked) wait_for_blocked_peers();
  }
}

Sender::Taken Sender::take_queued() {
  Taken taken;
  std::unique_lock lock(queue_.mutex);
  queue_.queued_bytes -= released_bytes_;
  queue_.queued_batches -= released_batches_;
  if (released_batches_ > 0) queue_.has_room.notify_all();
  released_bytes_ = released_batches_ = 0;
  if (backlog_batches_ == 0) {
    queue_.has_work.wait(lock, [&] {
      return !queue_.batches.empty() || queue_.stopping || queue_.routes_version != routes_version_;
    });
  }
  incoming_.swap(queue_.batches);
  if (queue_.routes_version != routes_version_) {
    routes_version_ = queue_.routes_version;
    endpoint_of_task_ = queue_.endpoint_of_task;
    stamp_ = queue_.stamp;
    taken.routes_changed = true;
  }
  taken.stopping = queue_.stopping;
  taken.flush_deadline = queue_.flush_deadline;
  return taken;
}

void Sender::reroute() {
  // Sockets to endpoints still in use are kept; the others close with linger 0 when `old` goes
  // (what they held is replayed by acking). Then the backlogs follow their tasks to their new
  // endpoints, in order per task (all of a task's batches are in one backlog).
  std::map<std::string, Peer> old;
  old.swap(peers_);
  for (auto& [endpoint, peer] : old) {
    if (std::find(endpoint_of_task_.begin(), endpoint_of_task_.end(), endpoint) !=
        endpoint_of_task_.end()) {
      peers_[endpoint].socket = std::move(peer.socket);
    } else {
      logger_->info("data transport: {} no longer hosts any task; closed", endpoint);
    }
  }
  backlog_batches_ = 0;
  for (auto& [endpoint, peer] : old) {
    for (Outgoing& out : peer.backlog) route(std::move(out));
  }
}

void Sender::route(Outgoing&& out) {
  if (const std::string* to = route_of(out.task)) {
    peer_for(*to).backlog.push_back(std::move(out));
    ++backlog_batches_;
  } else {
    drop(out);
  }
}

const std::string* Sender::route_of(std::int32_t task) const {
  if (task < 0 || static_cast<std::size_t>(task) >= endpoint_of_task_.size()) return nullptr;
  const std::string& e = endpoint_of_task_[task];
  return e.empty() ? nullptr : &e;
}

Sender::Peer& Sender::peer_for(const std::string& endpoint) {
  Peer& peer = peers_[endpoint];
  if (!peer.socket) {
    peer.socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::push);
    peer.socket->set(zmq::sockopt::linger, 0);
    peer.socket->connect(endpoint);
  }
  return peer;
}

bool Sender::send_backlogs() {
  bool any_blocked = false;
  for (auto& [endpoint, peer] : peers_) {
    peer.blocked = false;
    while (!peer.backlog.empty()) {
      Outgoing& out = peer.backlog.front();
      zmq::send_result_t sent;
      try {
        // The stamp goes in front of the batch in the copy into the ZeroMQ message.
        zmq::message_t message(wire::stamp_size + out.bytes.size());
        char* data = static_cast<char*>(message.data());
        wire::write_stamp(stamp_, data);
        std::memcpy(data + wire::stamp_size, out.bytes.data(), out.bytes.size());
        sent = peer.socket->send(message, zmq::send_flags::dontwait);
      } catch (const zmq::error_t& e) {
        // EHOSTUNREACH and the like: the batch is lost, acking replays it. Logged at most once a
        // second (a peer that fails once tends to fail every batch).
        std::uint64_t suppressed = 0;
        if (send_error_pacer_.allow(suppressed)) {
          logger_->warn("data transport: sending to {} failed: {}{}", endpoint, e.what(),
                        suppressed > 0 ? " (and " + std::to_string(suppressed) +
                                             " more failed sends since the last report)"
                                       : std::string());
        }
        drop(out);
        peer.backlog.pop_front();
        --backlog_batches_;
        continue;
      }
      if (!sent) {
        peer.blocked = true;
        any_blocked = true;
        break;
      }
      queue_.batches_sent.fetch_add(1, std::memory_order_relaxed);
      queue_.bytes_sent.fetch_add(out.bytes.size(), std::memory_order_relaxed);
      released_bytes_ += out.bytes.size();
      ++released_batches_;
      peer.backlog.pop_front();
      --backlog_batches_;
    }
  }
  return any_blocked;
}

void Sender::drop(const Outgoing& out) {
  released_bytes_ += out.bytes.size();
  ++released_batches_;
  ++dropped_unlogged_;
  queue_.dropped_batches.fetch_add(1, std::memory_order_relaxed);
}

void Sender::log_drops() {
  if (dropped_unlogged_ == 0) return;
  std::uint64_t suppressed = 0;
  if (drop_pacer_.allow(suppressed)) {
    logger_->warn(
        "data transport: dropped {} batches for tasks without a worker (acking "
        "replays them)",
        std::exchange(dropped_unlogged_, 0));
  }
}

bool Sender::finish_stop(Monotonic::time_point flush_deadline) {
  auto now = Monotonic::now();
  if (backlog_batches_ != 0 && now < flush_deadline) return false;
  std::lock_guard lock(queue_.mutex);
  // Whatever arrived after the last look at the queue is dropped with the backlog.
  for (const Outgoing& out : queue_.batches) drop(out);
  queue_.batches.clear();
  for (auto& [endpoint, peer] : peers_) {
    for (const Outgoing& out : peer.backlog) drop(out);
  }
  queue_.queued_bytes -= released_bytes_;
  queue_.queued_batches -= released_batches_;
  if (backlog_batches_ > 0) {
    logger_->warn("data transport: stopped with {} batches not handed to ZeroMQ", backlog_batches_);
  }
  // ZeroMQ may still hold batches it accepted. Give them what is left of the flush time, but
  // never rely on it (docs/transport.md: the ZeroMQ pitfall): acking replays what is lost.
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(flush_deadline - now);
  int linger = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000));
  for (auto& [endpoint, peer] : peers_) {
    if (peer.socket) {
      peer.socket->set(zmq::sockopt::linger, linger);
      peer.socket->close();
    }
  }
  peers_.clear();
  return true;
}

void Sender::wait_for_blocked_peers() {
  // Wait for a blocked peer to take more, briefly, then look at the queue again.
  blocked_items_.clear();
  for (auto& [endpoint, peer] : peers_) {
    if (peer.blocked) blocked_items_.push_back({peer.socket->handle(), 0, ZMQ_POLLOUT, 0});
  }
  try {
    zmq::poll(blocked_items_.data(), blocked_items_.size(), retry_poll_);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) {
      logger_->critical("data transport: poll failed: {}", e.what());
      std::abort();
    }
  }
}

}  // namespace gale::transport
