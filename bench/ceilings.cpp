#include "bench/ceilings.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include <zmq.hpp>

#include <gale/config.hpp>

#include "bench/probe.hpp"
#include "bench/topologies.hpp"
#include "topology/src/plan.hpp"
#include "topology/src/tuple_data.hpp"
#include "wire/codec.hpp"
#include "wire/message.hpp"

namespace gale::bench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point from) {
  return std::chrono::duration<double>(Clock::now() - from).count();
}

// ---------------------------------------------------------------------------------------------
// Hand-written word count

constexpr std::size_t k_handoff_batch = 100;
constexpr std::size_t k_queue_batches = 64;

// A bounded queue of batches: one lock per batch, blocking when full or empty.
// Thread-safety: any number of producers and consumers.
template <class T>
class BoundedQueue {
 public:
  // Blocks while full; returns false once closed.
  bool push(std::vector<T>&& batch) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || batches_.size() < k_queue_batches; });
    if (closed_) return false;
    batches_.push_back(std::move(batch));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }
  // Blocks while empty; returns false once closed and drained.
  bool pop(std::vector<T>& out) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !batches_.empty(); });
    if (batches_.empty()) return false;
    out = std::move(batches_.front());
    batches_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return true;
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::vector<T>> batches_;  // protected by mutex_
  bool closed_ = false;                 // protected by mutex_
};

}  // namespace

Figures run_handwritten(double warmup_s, double duration_s) {
  BoundedQueue<std::string> sentences, words;
  std::atomic<bool> stop{false};
  Counter counted;

  std::thread spout([&] {
    std::size_t next = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      std::vector<std::string> batch;
      batch.reserve(k_handoff_batch);
      for (std::size_t i = 0; i < k_handoff_batch; ++i) {
        batch.emplace_back(k_sentences[next]);
        next = (next + 1) % k_sentence_count;
      }
      if (!sentences.push(std::move(batch))) break;
    }
    sentences.close();
  });
  std::thread split([&] {
    std::vector<std::string> in, out;
    out.reserve(k_handoff_batch);
    while (sentences.pop(in)) {
      for (const std::string& sentence : in) {
        for_each_word(sentence, [&](std::string_view word) {
          out.emplace_back(word);
          if (out.size() == k_handoff_batch) {
            words.push(std::move(out));
            out = {};
            out.reserve(k_handoff_batch);
          }
        });
      }
    }
    words.close();
  });
  std::thread count([&] {
    std::unordered_map<std::string, std::int64_t> counts;
    std::vector<std::string> in;
    while (words.pop(in)) {
      for (const std::string& w : in) ++counts[w];
      counted.add(in.size());
    }
  });

  std::this_thread::sleep_for(std::chrono::duration<double>(warmup_s));
  const std::uint64_t before = counted.get();
  const double cpu_before = self_cpu_seconds();
  const double busy_before = machine_busy_seconds();
  const auto from = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(duration_s));
  const std::uint64_t after = counted.get();
  const double cpu = self_cpu_seconds() - cpu_before;
  const double busy = machine_busy_seconds() - busy_before;
  const double seconds = seconds_since(from);
  stop.store(true);
  spout.join();
  split.join();
  count.join();
  Figures f;
  f["seconds"] = seconds;
  f["sink_rate"] = static_cast<double>(after - before) / seconds;
  f["cpu_cores"] = cpu / seconds;
  f["other_cores"] = std::max(0.0, busy - cpu) / seconds;
  return f;
}

// ---------------------------------------------------------------------------------------------
// What crosses ZeroMQ

namespace {

using gale::wire::Message;
using gale::wire::MessageKind;

const gale::detail::ComponentPlan& component_plan(const gale::detail::Plan& plan,
                                                  std::string_view id) {
  for (const auto& c : plan.components()) {
    if (c.def->id == id) return c;
  }
  throw std::logic_error("the word count topology has no component " + std::string(id));
}

// A tuple as an executor hands it to the transport.
Message tuple_message(std::int32_t task, const gale::detail::StreamMeta& meta,
                      std::int32_t source_task, std::string_view value, std::uint64_t root,
                      std::uint64_t edge) {
  Message m;
  m.kind = MessageKind::tuple;
  m.task = task;
  m.source_task = source_task;
  m.meta = &meta;
  m.values = {gale::Value(value)};
  if (root != 0) m.anchors.push_back({root, edge});
  return m;
}

}  // namespace

WireModel wordcount_wire_model(bool acking) {
  gale::Config config;
  config.set(gale::keys::topology_acker_executors, acking ? 1 : 0);
  const gale::Topology topo = topology(Shape::wordcount);
  const gale::detail::Plan plan(topo, config);
  const auto batch_size = static_cast<std::size_t>(
      plan.config().get_int(gale::keys::topology_producer_batch_size,
                            static_cast<std::int64_t>(gale::detail::RuntimeSettings{}.batch_size)));
  const auto& spout = component_plan(plan, k_spout);
  const auto& split = component_plan(plan, k_split);
  const auto& count = component_plan(plan, k_count);
  const std::int32_t spout_task = spout.tasks->front();
  const std::int32_t split_task = split.tasks->front();
  const std::int32_t count_task = count.tasks->front();
  const std::int32_t acker_task = acking ? plan.acker_tasks().front() : 0;

  // Gale's ids are random 64-bit numbers, and so are these (they take 9 bytes each in msgpack).
  std::mt19937_64 random(7);
  std::vector<Message> sentences, words, inits, acks, spout_acks;
  const std::size_t sentence_count = batch_size * k_sentence_count;
  for (std::size_t i = 0; i < sentence_count; ++i) {
    const std::string_view sentence = k_sentences[i % k_sentence_count];
    const std::uint64_t root = acking ? random() | 1 : 0;  // 0: no anchor
    const std::uint64_t edge = random();
    sentences.push_back(
        tuple_message(split_task, spout.streams.at(0).meta, spout_task, sentence, root, edge));
    if (acking)
      inits.push_back(
          gale::wire::control_message(MessageKind::acker_init, acker_task, spout_task, root, edge));
    for_each_word(sentence, [&](std::string_view word) {
      const std::uint64_t word_edge = random();
      words.push_back(
          tuple_message(count_task, split.streams.at(0).meta, split_task, word, root, word_edge));
      if (acking)
        acks.push_back(
            gale::wire::control_message(MessageKind::acker_ack, acker_task, 0, root, word_edge));
    });
    if (acking)
      spout_acks.push_back(
          gale::wire::control_message(MessageKind::spout_ack, spout_task, 0, root, 0));
  }

  WireModel model;
  model.words = words.size();
  for (const auto* messages : {&sentences, &words, &inits, &acks, &spout_acks}) {
    for (std::size_t at = 0; at < messages->size(); at += batch_size) {
      const std::size_t n = std::min(batch_size, messages->size() - at);
      model.batches.push_back(
          gale::wire::encode_batch(std::span<const Message>(messages->data() + at, n)));
      model.bytes += model.batches.back().size();
    }
  }
  return model;
}

void zmq_send(int port, bool acking, double seconds) {
  const WireModel model = wordcount_wire_model(acking);
  zmq::context_t context(1);
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.set(zmq::sockopt::sndtimeo, 1000);
  push.connect("tcp://127.0.0.1:" + std::to_string(port));
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  std::size_t next = 0;
  while (Clock::now() < deadline) {
    for (int i = 0; i < 64; ++i) {
      const std::string& batch = model.batches[next];
      next = (next + 1) % model.batches.size();
      // Copied into a ZeroMQ message, as Gale's sender does.
      if (!push.send(zmq::buffer(batch), zmq::send_flags::none)) return;  // receiver gone
    }
  }
}

Figures zmq_receive(int port, double warmup_s, double duration_s) {
  zmq::context_t context(1);
  zmq::socket_t pull(context, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  pull.set(zmq::sockopt::rcvtimeo, 100);
  pull.bind("tcp://127.0.0.1:" + std::to_string(port));
  zmq::message_t message;
  const auto wait_until = Clock::now() + std::chrono::seconds(10);
  while (!pull.recv(message)) {
    if (Clock::now() > wait_until) throw std::runtime_error("no message from the sender in 10 s");
  }
  const auto first = Clock::now();
  const auto start = first + std::chrono::duration<double>(warmup_s);
  const auto end = start + std::chrono::duration<double>(duration_s);
  std::uint64_t messages = 0, bytes = 0;
  bool counting = false;
  Clock::time_point counting_from;
  while (true) {
    const auto now = Clock::now();
    if (!counting && now >= start) {
      counting = true;
      counting_from = now;
      messages = bytes = 0;
    }
    if (now >= end) break;
    if (pull.recv(message)) {
      ++messages;
      bytes += message.size();
    }
  }
  const double seconds = seconds_since(counting_from);
  Figures f;
  f["seconds"] = seconds;
  f["msgs_per_s"] = static_cast<double>(messages) / seconds;
  f["bytes_per_s"] = static_cast<double>(bytes) / seconds;
  return f;
}

}  // namespace gale::bench
