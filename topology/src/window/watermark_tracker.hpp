#pragma once

// The watermark of an event-time windowed bolt task: how far its input has progressed in event
// time. Each input task's watermark is the highest timestamp it has sent less the lag (the
// bounded out-of-orderness); the task's watermark is the lowest of them, so a window closes only
// once every input has passed its end. An input task that sent nothing for the idle timeout
// (processing time) stops holding the watermark back; when every input is idle, the watermark
// moves up to the highest of theirs. It never moves back. Kept apart from the runtime and given
// the time by the caller, so that it is tested without a clock.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

namespace gale::detail {

// Thread: owned by one bolt task; not synchronised.
class WatermarkTracker {
 public:
  static constexpr std::int64_t k_none = std::numeric_limits<std::int64_t>::min();

  // `inputs`: the tasks the bolt task may receive tuples from (others are added when they first
  // send). `idle_timeout_ms` 0: an input never counts as idle. `now_ms`: when the task started,
  // which an input that never sends counts its idleness from.
  WatermarkTracker(const std::vector<std::int32_t>& inputs, std::int64_t lag_ms,
                   std::int64_t idle_timeout_ms, std::int64_t now_ms)
      : lag_(lag_ms), idle_timeout_(idle_timeout_ms) {
    for (std::int32_t task : inputs) inputs_.try_emplace(task, Input{k_none, now_ms});
  }

  // A tuple with timestamp `ts` arrived from `task` at `now_ms` (processing time).
  void observe(std::int32_t task, std::int64_t ts, std::int64_t now_ms) {
    Input& in = inputs_.try_emplace(task, Input{k_none, now_ms}).first->second;
    in.highest = std::max(in.highest, ts);
    in.last_seen = now_ms;
  }

  // Recomputes the watermark at `now_ms`: the lowest watermark of the inputs that are not idle
  // (an input that sent nothing yet counts as k_none); when all are idle, the highest of theirs.
  // k_none until it is known.
  std::int64_t update(std::int64_t now_ms) {
    std::int64_t lowest_active = std::numeric_limits<std::int64_t>::max();
    std::int64_t highest_idle = k_none;
    bool any_active = false;
    for (const auto& [task, in] : inputs_) {
      const std::int64_t w = in.highest == k_none ? k_none : in.highest - lag_;
      if (idle_timeout_ > 0 && now_ms - in.last_seen >= idle_timeout_) {
        highest_idle = std::max(highest_idle, w);
      } else {
        any_active = true;
        lowest_active = std::min(lowest_active, w);
      }
    }
    const std::int64_t computed = any_active ? lowest_active : highest_idle;
    watermark_ = std::max(watermark_, computed);
    return watermark_;
  }

  [[nodiscard]] std::int64_t watermark() const noexcept { return watermark_; }
  // Input tasks known (given or seen).
  [[nodiscard]] std::size_t inputs() const noexcept { return inputs_.size(); }

 private:
  struct Input {
    std::int64_t highest;    // the highest timestamp sent; k_none: nothing yet
    std::int64_t last_seen;  // processing time of its last tuple (or of the start)
  };

  std::int64_t lag_;
  std::int64_t idle_timeout_;
  std::unordered_map<std::int32_t, Input> inputs_;
  std::int64_t watermark_ = k_none;
};

}  // namespace gale::detail
