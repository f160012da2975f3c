#pragma once

// Internal to the transport: rate limiting for log lines about repeated events.

#include <chrono>
#include <cstdint>
#include <utility>

namespace gale::transport {

// One log line per interval at most; the lines in between are counted and reported with the next.
// Thread: one owner.
class LogPacer {
 public:
  explicit LogPacer(std::chrono::milliseconds interval) : interval_(interval) {}
  // True when a line may be logged now; `suppressed` is then how many were skipped before it.
  bool allow(std::uint64_t& suppressed) {
    auto now = std::chrono::steady_clock::now();
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
  std::chrono::steady_clock::time_point last_{};
  bool logged_once_ = false;
  std::uint64_t skipped_ = 0;
};

}  // namespace gale::transport
