#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "wire/message.hpp"

namespace gale::worker {

// An executor's input: a bounded queue of message batches. Producers hand over whole batches, so
// the lock is taken once per batch, never per tuple; the consumer takes every queued batch at once.
// Batch vectors are recycled: the consumer returns the ones it emptied with its next pop_all(), and
// a push hands one back to the producer in exchange, so steady traffic allocates no batch memory.
// Thread-safety: any number of producer threads, one consumer thread (the owning executor).
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}

  // Data path: blocks while the queue holds `capacity` messages or more, which slows the producer
  // down instead of growing memory (backpressure). Returns false, dropping the batch, once closed.
  // Takes the messages of `batch` and leaves it empty, with a recycled vector's capacity when one
  // is spare.
  [[nodiscard]] bool push(wire::Batch& batch) {
    std::unique_lock lock(mutex_);
    if (!closed_ && size_ >= capacity_) {
      ++blocked_producers_;
      not_full_.wait(lock, [&] { return closed_ || size_ < capacity_; });
      --blocked_producers_;
    }
    if (closed_) return false;
    enqueue_locked(batch);
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }
  [[nodiscard]] bool push(wire::Batch&& batch) { return push(batch); }

  enum class PushResult { pushed, full, closed };
  // push() that gives up after waiting `timeout` for room: returns `full` then, leaving `batch`
  // untouched, so that a blocked producer can do its own housekeeping between waits (a spout
  // expires its pending trees). `closed` drops the batch, like push(). Reads no clock unless the
  // queue is full.
  PushResult push_within(wire::Batch& batch, std::chrono::nanoseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!closed_ && size_ >= capacity_ &&
        !not_full_.wait_for(lock, timeout, [&] { return closed_ || size_ < capacity_; })) {
      return PushResult::full;
    }
    if (closed_) return PushResult::closed;
    enqueue_locked(batch);
    lock.unlock();
    not_empty_.notify_one();
    return PushResult::pushed;
  }

  // Acking traffic, ticks and self-sends: never blocks, because a producer blocked here could be
  // the very executor that has to drain another full queue (ack cycles must not deadlock). Its
  // volume is bounded by the data tuples in flight. Returns false once closed.
  [[nodiscard]] bool push_control(wire::Batch& batch) {
    std::unique_lock lock(mutex_);
    if (closed_) return false;
    enqueue_locked(batch);
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }
  [[nodiscard]] bool push_control(wire::Batch&& batch) { return push_control(batch); }

  // Moves every queued batch to the back of `out`. When the queue is empty, waits up to `timeout`
  // for a batch, wake() or close(), the first `spin` of it awake (polling), the rest asleep.
  // Returns the number of messages taken. The batches in `spent` (emptied by the consumer) become
  // spares for producers; `spent` is left empty.
  std::size_t pop_all(std::vector<wire::Batch>& out, std::chrono::nanoseconds timeout,
                      std::vector<wire::Batch>& spent,
                      std::chrono::nanoseconds spin = std::chrono::nanoseconds::zero()) {
    std::unique_lock lock(mutex_);
    for (wire::Batch& b : spent) {
      if (spares_.size() >= k_max_spares) break;
      if (b.capacity() > 0) spares_.push_back(std::move(b));
    }
    spent.clear();
    if (batches_.empty() && !closed_ && !woken_ && timeout.count() > 0) {
      if (spin.count() > 0) {
        // A producer usually pushes again within microseconds under load; going to sleep and
        // being woken costs two context switches, far more in a VM. Wait a little awake first.
        lock.unlock();
        spin_for_signal(std::min(spin, timeout));
        lock.lock();
      }
      consumer_waiting_ = true;
      not_empty_.wait_for(lock, timeout, [&] { return !batches_.empty() || closed_ || woken_; });
      consumer_waiting_ = false;
    }
    woken_ = false;
    signal_.store(false, std::memory_order_relaxed);
    std::size_t taken = size_;
    if (taken == 0) return 0;
    if (out.empty()) {
      out.swap(batches_);
    } else {
      for (auto& b : batches_) out.push_back(std::move(b));
      batches_.clear();
    }
    size_ = 0;
    lock.unlock();
    not_full_.notify_all();
    return taken;
  }

  std::size_t pop_all(std::vector<wire::Batch>& out, std::chrono::nanoseconds timeout) {
    std::vector<wire::Batch> none;
    return pop_all(out, timeout, none);
  }

  // Ends a pending or the next pop_all() wait without data (the clock moved, a command arrived).
  void wake() {
    {
      std::lock_guard lock(mutex_);
      woken_ = true;
      signal_.store(true, std::memory_order_release);
    }
    not_empty_.notify_one();
  }

  // Refuses further pushes and releases every blocked producer. Queued batches stay poppable.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      signal_.store(true, std::memory_order_release);
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return size_;
  }
  std::size_t capacity() const noexcept { return capacity_; }
  // Producers blocked in push() on a full queue right now, and whether the consumer is asleep in
  // pop_all() on an empty one: lets tests wait for a thread to be blocked instead of sleeping.
  std::size_t blocked_producers() const {
    std::lock_guard lock(mutex_);
    return blocked_producers_;
  }
  bool consumer_waiting() const {
    std::lock_guard lock(mutex_);
    return consumer_waiting_;
  }

 private:
  void enqueue_locked(wire::Batch& batch) {
    signal_.store(true, std::memory_order_release);
    size_ += batch.size();
    batches_.push_back(std::move(batch));
    batch.clear();  // a moved-from vector is valid but unspecified
    if (!spares_.empty()) {
      batch.swap(spares_.back());
      spares_.pop_back();
    }
  }

  // Polls signal_ for up to `how_long`, pausing between reads. After the first few microseconds
  // each poll also yields the core: when more threads are runnable than there are cores (an
  // executor per component on a small machine), the thread that would push the next batch may be
  // waiting for this very core, and a pure spin would only burn its time slice.
  void spin_for_signal(std::chrono::nanoseconds how_long) const {
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + how_long;
    const auto yield_from = start + std::chrono::microseconds(2);
    while (!signal_.load(std::memory_order_acquire)) {
      for (int i = 0; i < 64; ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return;
      if (now >= yield_from) std::this_thread::yield();
    }
  }

  // Enough for every producer to get a vector back, without hoarding memory after a burst.
  static constexpr std::size_t k_max_spares = 64;

  const std::size_t capacity_;
  // Set under mutex_ whenever a batch, wake() or close() arrives, cleared by pop_all(): read
  // without the lock while spinning.
  std::atomic<bool> signal_{false};
  // Protected by mutex_:
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::vector<wire::Batch> batches_;
  std::vector<wire::Batch> spares_;  // empty, with capacity
  std::size_t size_ = 0;
  std::size_t blocked_producers_ = 0;
  bool closed_ = false;
  bool woken_ = false;
  bool consumer_waiting_ = false;  // asleep in pop_all()
};

}  // namespace gale::worker
