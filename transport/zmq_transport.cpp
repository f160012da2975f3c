#include "transport/zmq_transport.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

#include "common/logging.hpp"
#include "transport/log_pacer.hpp"

namespace gale::transport {

namespace {

using Monotonic = std::chrono::steady_clock;

bool carries_data(const wire::Batch& batch) {
  return std::any_of(batch.begin(), batch.end(),
                     [](const wire::Message& m) { return m.kind == wire::MessageKind::tuple; });
}

}  // namespace

ZmqTransport::ZmqTransport(zmq::context_t& context, ZmqTransportOptions options)
    : context_(context),
      options_(std::move(options)),
      logger_(options_.logger ? options_.logger
                              : common::make_logger("transport-" + std::to_string(options_.port))),
      endpoint_("tcp://" + options_.host + ":" + std::to_string(options_.port)),
      // Batches leave room for the stamp in front of them.
      max_message_bytes_(options_.max_message_bytes > 0
                             ? std::max<std::size_t>(
                                   static_cast<std::size_t>(options_.max_message_bytes),
                                   wire::stamp_size + 1) -
                                   wire::stamp_size
                             : std::numeric_limits<std::size_t>::max()),
      pull_(context_, zmq::socket_type::pull),
      sender_(context_, queue_, options_.retry_poll, logger_) {
  if (options_.port < 1 || options_.port > 65535) {
    throw Error("data port " + std::to_string(options_.port) + " is out of range 1..65535");
  }
  queue_.stamp = wire::SenderStamp{0, options_.tenure, options_.first_task};
  pull_.set(zmq::sockopt::linger, 0);
  pull_.set(zmq::sockopt::maxmsgsize,
            options_.max_message_bytes > 0 ? options_.max_message_bytes : std::int64_t{-1});
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
  sender_thread_ = std::thread([this] { sender_.run(); });
  receiver_ = std::thread([this] { receive_loop(); });
  logger_->info("data transport listening on {}", endpoint_);
}

void ZmqTransport::stop(std::chrono::milliseconds flush) {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(queue_.mutex);
    queue_.stopping = true;
    queue_.flush_deadline = Monotonic::now() + flush;
  }
  queue_.has_work.notify_all();
  queue_.has_room.notify_all();
  if (sender_thread_.joinable()) sender_thread_.join();
  stop_receiving_.store(true, std::memory_order_release);
  if (receiver_.joinable()) receiver_.join();
  pull_.close();
  auto s = stats();
  logger_->info(
      "data transport stopped: {} batches ({} bytes) sent, {} received, {} malformed, "
      "{} dropped, {} split, {} messages refused as too large, {} from superseded workers refused",
      s.batches_sent, s.bytes_sent, s.batches_received, s.malformed_batches, s.dropped_batches,
      s.split_batches, s.refused_messages, s.fenced_batches);
}

void ZmqTransport::set_routes(std::vector<TaskRoute> routes, std::int64_t version) {
  std::vector<std::string> endpoint_of_task;
  std::vector<std::int64_t> tenure_of_task;
  for (TaskRoute& route : routes) {
    for (std::int32_t task : route.tasks) {
      if (task < 0) continue;
      if (static_cast<std::size_t>(task) >= endpoint_of_task.size()) {
        endpoint_of_task.resize(static_cast<std::size_t>(task) + 1);
        tenure_of_task.resize(static_cast<std::size_t>(task) + 1, -1);
      }
      endpoint_of_task[task] = route.endpoint;
      tenure_of_task[task] = route.since;
    }
  }
  {
    std::lock_guard lock(fence_mutex_);
    next_fence_ = Fence(version, std::move(tenure_of_task));
  }
  fence_generation_.fetch_add(1, std::memory_order_release);
  {
    std::lock_guard lock(queue_.mutex);
    queue_.endpoint_of_task = std::move(endpoint_of_task);
    queue_.stamp.version = version;
    ++queue_.routes_version;
  }
  queue_.has_work.notify_one();
}

void ZmqTransport::limit_blocking(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lock(queue_.mutex);
    block_until_ = deadline;
  }
  queue_.has_room.notify_all();
}

bool ZmqTransport::send(std::int32_t task, wire::Batch&& batch,
                        std::vector<RefusedMessage>& refused) {
  if (batch.empty()) return true;
  const bool data = carries_data(batch);
  // Encoded here, on the executor's thread, so that the single sender thread only moves bytes.
  Outgoing out{task, std::string()};
  if (!wire::encode_batch_within(batch, max_message_bytes_, out.bytes)) [[unlikely]] {
    return send_split(task, batch, data, refused);
  }
  return enqueue(task, data, std::span<Outgoing>(&out, 1));
}

bool ZmqTransport::send_split(std::int32_t task, wire::Batch& batch, bool data,
                              std::vector<RefusedMessage>& refused) {
  std::vector<std::string> encoded;
  std::vector<wire::Unencodable> left_out;
  wire::encode_batch_split(batch, max_message_bytes_, encoded, left_out);
  for (wire::Unencodable& u : left_out) {
    RefusedMessage r;
    r.message = std::move(batch[u.index]);
    r.message.values = Values();  // may be huge; the caller needs the tuple's identity only
    r.bytes = u.bytes;
    r.reason = std::move(u.reason);
    refused.push_back(std::move(r));
  }
  refused_messages_.fetch_add(left_out.size(), std::memory_order_relaxed);
  if (encoded.size() > 1) split_batches_.fetch_add(1, std::memory_order_relaxed);
  if (encoded.empty()) return true;
  std::vector<Outgoing> outs;
  outs.reserve(encoded.size());
  for (std::string& bytes : encoded) outs.push_back(Outgoing{task, std::move(bytes)});
  return enqueue(task, data, outs);
}

bool ZmqTransport::enqueue(std::int32_t task, bool data, std::span<Outgoing> batches) {
  std::size_t size = 0;
  for (const Outgoing& out : batches) size += out.bytes.size();
  std::unique_lock lock(queue_.mutex);
  auto routed = [&] {
    return task >= 0 && static_cast<std::size_t>(task) < queue_.endpoint_of_task.size() &&
           !queue_.endpoint_of_task[task].empty();
  };
  bool timed_out = false;
  if (data) {
    auto room = [&] {
      return queue_.stopping || (queue_.queued_bytes <= options_.max_queued_bytes &&
                                 queue_.queued_batches < options_.max_queued_batches);
    };
    // block_until_ may move while this waits (limit_blocking), so the wait is re-armed each time.
    while (!room()) {
      if (block_until_ == Monotonic::time_point::max()) {
        queue_.has_room.wait(lock);
      } else if (queue_.has_room.wait_until(lock, block_until_) == std::cv_status::timeout &&
                 !room()) {
        timed_out = true;
        break;
      }
    }
  }
  if (queue_.stopping || timed_out || !routed()) {
    queue_.dropped_batches.fetch_add(1, std::memory_order_relaxed);
    if (!queue_.stopping && !timed_out) {
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
  const bool was_empty = queue_.batches.empty();
  for (Outgoing& out : batches) queue_.batches.push_back(std::move(out));
  queue_.queued_bytes += size;
  queue_.queued_batches += batches.size();
  lock.unlock();
  if (was_empty) queue_.has_work.notify_one();
  return true;
}

ZmqTransportStats ZmqTransport::stats() const {
  ZmqTransportStats s;
  s.batches_sent = queue_.batches_sent.load(std::memory_order_relaxed);
  s.bytes_sent = queue_.bytes_sent.load(std::memory_order_relaxed);
  s.batches_received = batches_received_.load(std::memory_order_relaxed);
  s.malformed_batches = malformed_batches_.load(std::memory_order_relaxed);
  s.dropped_batches = queue_.dropped_batches.load(std::memory_order_relaxed);
  s.split_batches = split_batches_.load(std::memory_order_relaxed);
  s.refused_messages = refused_messages_.load(std::memory_order_relaxed);
  s.fenced_batches = fenced_batches_.load(std::memory_order_relaxed);
  s.newest_peer_version = newest_peer_version_.load(std::memory_order_relaxed);
  std::lock_guard lock(queue_.mutex);
  s.queued_batches = queue_.queued_batches;
  return s;
}

void ZmqTransport::receive_loop() {
  LogPacer pacer(std::chrono::seconds(1));
  std::vector<wire::Message> messages;
  Monotonic::time_point last_awake = Monotonic::now();
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
    const Monotonic::time_point polled = Monotonic::now();
    // Nothing of this process ran between last_awake + stall_after and now.
    if (polled - last_awake > options_.stall_after) [[unlikely]] {
      hold_after_stall(last_awake + options_.stall_after);
    }
    last_awake = polled;
    if ((item.revents & ZMQ_POLLIN) == 0) continue;
    // Drain what is there, but look at the stop flag now and then.
    for (int i = 0; i < 256 && !stop_receiving_.load(std::memory_order_acquire); ++i) {
      zmq::message_t message;
      if (!pull_.recv(message, zmq::recv_flags::dontwait)) break;
      messages.clear();
      const std::string_view bytes = message.to_string_view();
      const std::optional<wire::SenderStamp> stamp = wire::read_stamp(bytes);
      try {
        if (!stamp) throw Error("no sender stamp in front of the batch");
        if (!admit(*stamp)) continue;
        wire::decode_batch(bytes.substr(wire::stamp_size), resolve_, messages);
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
    // Time blocked in deliveries (backpressure) is not a stall.
    last_awake = Monotonic::now();
  }
}

void ZmqTransport::hold_after_stall(Monotonic::time_point stalled) {
  const std::int64_t resumed_ns = stalled.time_since_epoch().count();
  const Monotonic::time_point until = Monotonic::now() + options_.stall_hold;
  logger_->warn("data transport: this process did not run for a while; deliveries wait for a "
                "heartbeat (at most {} ms)",
                options_.stall_hold.count());
  while (heartbeat_done_ns_.load(std::memory_order_acquire) < resumed_ns &&
         Monotonic::now() < until && !stop_receiving_.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool ZmqTransport::admit(const wire::SenderStamp& stamp) {
  // A newer version than any seen so far: the worker fetches that assignment early.
  if (stamp.version > newest_peer_version_.load(std::memory_order_relaxed)) {
    newest_peer_version_.store(stamp.version, std::memory_order_relaxed);
  }
  if (const std::uint64_t g = fence_generation_.load(std::memory_order_acquire); g != fence_seen_)
      [[unlikely]] {
    std::lock_guard lock(fence_mutex_);
    fence_ = next_fence_;
    fence_seen_ = g;
  }
  if (fence_.admits(stamp)) [[likely]] return true;
  fenced_batches_.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t suppressed = 0;
  if (fence_pacer_.allow(suppressed)) {
    const std::int64_t tenure = fence_.tenure_of(stamp.task);
    logger_->warn(
        "refused a batch from a superseded worker: it runs task {} since assignment version {} "
        "(and runs version {}), but in version {} here {}{}",
        stamp.task, stamp.since, stamp.version, fence_.version(),
        tenure < 0 ? "no worker runs that task"
                   : "a worker runs it since version " + std::to_string(tenure),
        suppressed > 0 ? " (and " + std::to_string(suppressed) + " more since the last report)"
                       : std::string());
  }
  return false;
}

}  // namespace gale::transport
