#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <gale/export.hpp>

namespace gale::common {

// The runtime's source of time, injected so that timeouts and tick tuples can be tested without
// sleeping (ManualClock). Times are nanoseconds since an arbitrary epoch.
// Thread-safety: now_ns() may be called from any thread.
class GALE_API Clock {
 public:
  virtual ~Clock();
  virtual std::int64_t now_ns() const noexcept = 0;
  // True when time only moves when told to: executors then wait for a wake-up instead of a timer.
  virtual bool simulated() const noexcept { return false; }
};

class GALE_API SteadyClock final : public Clock {
 public:
  ~SteadyClock() override;
  std::int64_t now_ns() const noexcept override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// Time that moves only through advance(). Whoever advances it must then wake the executors
// (Worker::wake_all()) so that they notice due timeouts and ticks.
class GALE_API ManualClock final : public Clock {
 public:
  ~ManualClock() override;
  std::int64_t now_ns() const noexcept override { return now_.load(std::memory_order_acquire); }
  bool simulated() const noexcept override { return true; }
  void advance(std::chrono::nanoseconds by) noexcept {
    now_.fetch_add(by.count(), std::memory_order_acq_rel);
  }

 private:
  // Starts well above zero so that "0" can mean "never" in deadline arithmetic.
  std::atomic<std::int64_t> now_{1'000'000'000'000};
};

}  // namespace gale::common
