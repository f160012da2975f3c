#pragma once

// When a reliable spout emits a failed record again, and when it gives up: the retry policy
// shared by the connector spouts (storm-kafka-client's KafkaSpoutRetryExponentialBackoff). Part of
// libgale_components (pkg-config module gale-components).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace gale::spouts {

struct RetryPolicy {
  // Retries per record after its first failure; then the spout gives up on it (routes it to its
  // error stream). 0: never retried. -1: retried forever.
  std::int64_t max_retries = 10;
  // Delay before retry n (1-based): initial * 2^(n-1), capped at max.
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{10'000};
};

// The failed records of one spout task waiting for a retry, keyed by any ordered key (a
// (partition, offset) pair, a stream entry id, ...). Times are given by the caller (steady clock or
// a test's manual clock), so it is tested without sleeping.
// Thread: owned by one spout task; not synchronised.
template <class Key>
class RetrySchedule {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RetrySchedule(RetryPolicy policy) : policy_(policy) {}

  // `key` failed at `now`. Returns true when it is scheduled for a retry, false when its retries
  // are used up (the caller gives up on it; its count is forgotten).
  bool failed(const Key& key, Clock::time_point now) {
    std::int64_t& count = failures_[key];
    ++count;
    if (policy_.max_retries >= 0 && count > policy_.max_retries) {
      failures_.erase(key);
      return false;
    }
    due_.emplace(now + delay(count), key);
    return true;
  }

  // The keys whose retry is due at `now`, earliest first; they leave the schedule (their failure
  // count stays until succeeded() or forget()).
  std::vector<Key> due(Clock::time_point now) {
    std::vector<Key> out;
    while (!due_.empty() && due_.begin()->first <= now) {
      out.push_back(due_.begin()->second);
      due_.erase(due_.begin());
    }
    return out;
  }

  // `key` was acked: its failure count is dropped.
  void succeeded(const Key& key) { failures_.erase(key); }
  // Drops `key` entirely (a revoked partition): no retry, no count.
  void forget(const Key& key) {
    failures_.erase(key);
    for (auto it = due_.begin(); it != due_.end();) {
      it = it->second == key ? due_.erase(it) : std::next(it);
    }
  }
  // Failures so far of `key` (0 when it never failed or was acked since).
  [[nodiscard]] std::int64_t failures(const Key& key) const {
    const auto it = failures_.find(key);
    return it == failures_.end() ? 0 : it->second;
  }
  // Keys waiting for their retry time.
  [[nodiscard]] std::size_t scheduled() const noexcept { return due_.size(); }

  // The delay before retry number `n` (1-based).
  [[nodiscard]] std::chrono::milliseconds delay(std::int64_t n) const {
    auto d = policy_.initial_delay;
    for (std::int64_t i = 1; i < n && d < policy_.max_delay; ++i) d *= 2;
    return std::min(d, policy_.max_delay);
  }

 private:
  RetryPolicy policy_;
  std::map<Key, std::int64_t> failures_;
  std::multimap<Clock::time_point, Key> due_;
};

}  // namespace gale::spouts
