#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <gale/export.hpp>
#include <gale/streams.hpp>
#include <gale/tuple.hpp>
#include <gale/value.hpp>

namespace gale {

// Ends a spout task's idle sleep, from any thread: see SpoutCollector::waker(). Copyable; a
// default-made one wakes nothing.
class SpoutWaker {
 public:
  using WakeFn = void (*)(void*) noexcept;
  SpoutWaker() noexcept = default;
  SpoutWaker(WakeFn wake, void* target) noexcept : wake_(wake), target_(target) {}
  void wake() const noexcept {
    if (wake_ != nullptr) wake_(target_);
  }

 private:
  WakeFn wake_ = nullptr;
  void* target_ = nullptr;
};

// How a spout emits. Owned by the runtime; valid from open() until close() returns.
// Every method must be called on the spout task's own thread (the one that calls next_tuple).
// Emitting to an undeclared stream, emit() on a direct stream, or emit_direct() to a task that does
// not subscribe directly throws TopologyError.
class GALE_API SpoutCollector {
 public:
  virtual ~SpoutCollector();

  // Unreliable emit on the default stream: the tuple is not tracked, ack/fail never run for it.
  void emit(Values values) { do_emit(std::string_view(), std::move(values), nullptr, -1); }
  // Reliable emit: ack(id) runs once the whole tuple tree is processed, fail(id) if any part of it
  // fails or times out. With acking off (topology.acker.executors = 0) ack(id) runs at once.
  void emit(Values values, MessageId id) { do_emit(std::string_view(), std::move(values), &id, -1); }
  void emit_to(std::string_view stream, Values values) {
    do_emit(stream, std::move(values), nullptr, -1);
  }
  void emit_to(std::string_view stream, Values values, MessageId id) {
    do_emit(stream, std::move(values), &id, -1);
  }
  // Sends to exactly one task of a component that subscribes to `stream` with direct grouping.
  void emit_direct(std::int32_t task, std::string_view stream, Values values) {
    do_emit(stream, std::move(values), nullptr, task);
  }
  void emit_direct(std::int32_t task, std::string_view stream, Values values, MessageId id) {
    do_emit(stream, std::move(values), &id, task);
  }

  // Records an error for `gale status` and the log without failing anything.
  virtual void report_error(std::string_view message) = 0;
  // Number of reliable tuples this task emitted that are neither acked nor failed yet.
  virtual std::size_t pending_count() const = 0;
  // What any thread may call to end this task's idle sleep at once. After a next_tuple() call
  // that emitted nothing the task sleeps (topology.sleep.spout.wait.strategy.time.ms, doubling
  // while it stays idle, up to topology.spout.wait.max.ms); a spout whose source signals new data
  // on a thread of its own (a client library's callback) wakes it, so the data goes out at once
  // instead of after the sleep. Cheap; valid until close() returns.
  virtual SpoutWaker waker() { return {}; }

 protected:
  // `stream` is empty for the default stream (so the runtime need not compare names on the common
  // path); `id` is null for an unreliable emit; `direct_task` is -1 unless emit_direct was called.
  virtual void do_emit(std::string_view stream, Values&& values, const MessageId* id,
                       std::int32_t direct_task) = 0;
};

// How a bolt emits, acks and fails. Owned by the runtime; valid from prepare() until cleanup()
// returns, on the bolt task's own thread only. Each input tuple must be acked or failed exactly
// once (ack/fail of an already acked or failed tuple is ignored); a tuple never acked times out.
// Emit errors are those of SpoutCollector.
class GALE_API BoltCollector {
 public:
  virtual ~BoltCollector();

  // Unanchored emit: a failure downstream does not replay anything.
  void emit(Values values) { do_emit(std::string_view(), {}, std::move(values), -1); }
  // Anchored emit: the new tuple joins the tuple trees of `anchor`.
  void emit(const Tuple& anchor, Values values) {
    do_emit(std::string_view(), std::span<const Tuple>(&anchor, 1), std::move(values), -1);
  }
  // Anchored to several inputs (joins, aggregations).
  void emit(std::span<const Tuple> anchors, Values values) {
    do_emit(std::string_view(), anchors, std::move(values), -1);
  }
  void emit_to(std::string_view stream, Values values) {
    do_emit(stream, {}, std::move(values), -1);
  }
  void emit_to(std::string_view stream, const Tuple& anchor, Values values) {
    do_emit(stream, std::span<const Tuple>(&anchor, 1), std::move(values), -1);
  }
  void emit_to(std::string_view stream, std::span<const Tuple> anchors, Values values) {
    do_emit(stream, anchors, std::move(values), -1);
  }
  void emit_direct(std::int32_t task, std::string_view stream, Values values) {
    do_emit(stream, {}, std::move(values), task);
  }
  void emit_direct(std::int32_t task, std::string_view stream, const Tuple& anchor,
                   Values values) {
    do_emit(stream, std::span<const Tuple>(&anchor, 1), std::move(values), task);
  }
  void emit_direct(std::int32_t task, std::string_view stream, std::span<const Tuple> anchors,
                   Values values) {
    do_emit(stream, anchors, std::move(values), task);
  }

  // Marks `input` as fully processed by this bolt.
  virtual void ack(const Tuple& input) = 0;
  // Fails the tuple trees `input` belongs to at once: their spouts' fail() runs without waiting for
  // the timeout.
  virtual void fail(const Tuple& input) = 0;
  // Records an error for `gale status` and the log without failing anything.
  virtual void report_error(std::string_view message) = 0;

 protected:
  // `stream` is empty for the default stream; the rest as in SpoutCollector::do_emit.
  virtual void do_emit(std::string_view stream, std::span<const Tuple> anchors, Values&& values,
                       std::int32_t direct_task) = 0;
};

// The collector a BasicBolt sees: every emit is anchored to the current input, which is acked
// when execute returns and failed when it throws. Same thread rules as BoltCollector.
class GALE_API BasicCollector {
 public:
  BasicCollector(BoltCollector& out, const Tuple& input) noexcept : out_(out), input_(input) {}

  void emit(Values values) { out_.emit(input_, std::move(values)); }
  void emit_to(std::string_view stream, Values values) {
    out_.emit_to(stream, input_, std::move(values));
  }
  void emit_direct(std::int32_t task, std::string_view stream, Values values) {
    out_.emit_direct(task, stream, input_, std::move(values));
  }
  void report_error(std::string_view message) { out_.report_error(message); }

 private:
  BoltCollector& out_;
  const Tuple& input_;
};

}  // namespace gale
