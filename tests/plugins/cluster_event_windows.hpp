#pragma once

// The events of the cluster_event_windows test topology, shared by the plugin that emits them and
// the cluster test that computes the windows they must give. Each spout task emits
// k_events_per_task events (key, ts) in order of their turn, 100 ms of event time apart, each up to
// 2.9 s before its turn: out of order, but always within the windowed bolts' lag of 3 s, so that no
// event is late however the watermark moves, and every run gives the same windows.

#include <array>
#include <cstdint>
#include <string>

namespace gale::test::event_windows {

inline constexpr int k_spout_tasks = 2;
inline constexpr std::int64_t k_events_per_task = 400;
inline constexpr std::int64_t k_lag_ms = 3'000;
inline constexpr std::int64_t k_length_ms = 10'000;  // both windows: 10 s long,
inline constexpr std::int64_t k_sliding_ms = 5'000;  // the sliding one every 5 s
inline constexpr std::array<const char*, 5> k_keys = {"k0", "k1", "k2", "k3", "k4"};
// After its last event, a spout task sends one event per key at this time (without a message id):
// the watermark passes every window of the real events, and its own windows never fire.
inline constexpr std::int64_t k_end_ms = 1'000'000'000'000'000;

struct Event {
  std::string key;
  std::int64_t ts;
};

// Event i (0 <= i < k_events_per_task) of spout task `task` (its task index).
inline Event event(int task, std::int64_t i) {
  const std::int64_t turn = 3'000 + 100 * i;
  const std::int64_t early = 100 * ((7 * i + 11 * task) % 30);  // 0 to 2.9 s
  return {k_keys[static_cast<std::size_t>((3 * i + task) % 5)], turn - early};
}

}  // namespace gale::test::event_windows
