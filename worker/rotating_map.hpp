#pragma once

#include <cstddef>
#include <deque>
#include <unordered_map>
#include <utility>

namespace gale::worker {

// A map whose entries expire in bulk (Heron's rotating map): inserts go into the newest bucket and
// rotate() drops the oldest. With B buckets rotated every T/(B-1), an entry expires between T and
// T*B/(B-1) after insertion, with no per-entry timer and constant memory per entry.
// Thread: owned by one executor.
template <class K, class V>
class RotatingMap {
 public:
  explicit RotatingMap(std::size_t buckets = 4) : buckets_(buckets < 2 ? 2 : buckets) {}

  void insert(const K& key, V value) { buckets_.front().insert_or_assign(key, std::move(value)); }

  // The entry wherever it is, or nullptr.
  V* find(const K& key) {
    for (auto& bucket : buckets_) {
      auto it = bucket.find(key);
      if (it != bucket.end()) return &it->second;
    }
    return nullptr;
  }

  // Removes the entry and moves its value into `out`. Returns false when absent.
  bool take(const K& key, V& out) {
    for (auto& bucket : buckets_) {
      auto it = bucket.find(key);
      if (it != bucket.end()) {
        out = std::move(it->second);
        bucket.erase(it);
        return true;
      }
    }
    return false;
  }

  bool erase(const K& key) {
    for (auto& bucket : buckets_) {
      if (bucket.erase(key) > 0) return true;
    }
    return false;
  }

  // Drops the oldest bucket, calling expired(key, value) for each of its entries.
  template <class F>
  void rotate(F&& expired) {
    auto oldest = std::move(buckets_.back());
    buckets_.pop_back();
    buckets_.emplace_front();
    for (auto& [key, value] : oldest) expired(key, value);
  }

  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const auto& bucket : buckets_) n += bucket.size();
    return n;
  }

  std::size_t bucket_count() const noexcept { return buckets_.size(); }

 private:
  std::deque<std::unordered_map<K, V>> buckets_;
};

}  // namespace gale::worker
