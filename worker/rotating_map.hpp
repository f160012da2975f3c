#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace gale::worker {

// A map whose entries expire in bulk (Heron's rotating map): an entry belongs to the generation it
// was inserted in and rotate() expires the oldest generation. With B generations rotated every
// T/(B-1), an entry expires between T and T*B/(B-1) after insertion, with no per-entry timer.
//
// Every pending tuple tree passes through two of these (the spout's and the acker's), so the
// table is open-addressed: one flat array of slots probed linearly, no allocation per entry, and
// an entry's key, generation and value share one cache line. Keys are integers (tree ids);
// deletion shifts the following entries back instead of leaving tombstones. The array grows at
// half full and, at rotation, shrinks back to what the busiest recent period needed.
// Pointers and references into the map are valid until the next insert, erase, take or rotate.
// Thread: owned by one executor.
template <class K, class V>
class RotatingMap {
  static_assert(std::is_integral_v<K>, "RotatingMap keys are integer ids");

 public:
  explicit RotatingMap(std::size_t generations = 4)
      : generations_(generations < 2 ? 2 : generations) {}

  // Inserts or replaces the entry of `key`, in the current generation.
  void insert(const K& key, V value) {
    Slot& slot = find_or_add(key);
    slot.value = std::move(value);
    slot.generation = current_;
  }

  // The entry of `key`, added with a default value in the current generation when absent.
  V& find_or_insert(const K& key) { return find_or_add(key).value; }

  // The entry wherever it is, or nullptr.
  V* find(const K& key) {
    Slot* slot = find_slot(key);
    return slot != nullptr ? &slot->value : nullptr;
  }

  // Removes the entry and moves its value into `out`. Returns false when absent.
  bool take(const K& key, V& out) {
    Slot* slot = find_slot(key);
    if (slot == nullptr) return false;
    out = std::move(slot->value);
    remove(static_cast<std::size_t>(slot - slots_.data()));
    return true;
  }

  bool erase(const K& key) {
    Slot* slot = find_slot(key);
    if (slot == nullptr) return false;
    remove(static_cast<std::size_t>(slot - slots_.data()));
    return true;
  }

  // Expires the oldest generation, calling expired(key, value) for each of its entries. The
  // entries are out of the map before the first call, so `expired` may insert (a spout's fail()
  // may emit again).
  template <class F>
  void rotate(F&& expired) {
    ++current_;
    std::vector<std::pair<K, V>> gone;
    if (!slots_.empty()) {
      std::vector<Slot> old;
      old.swap(slots_);
      const std::size_t keep_for = std::max(peak_size_, size_);
      size_ = 0;
      slots_.resize(capacity_for(keep_for));
      mask_ = slots_.size() - 1;
      for (Slot& slot : old) {
        if (slot.generation == 0) continue;
        if (current_ - slot.generation >= generations_) {
          gone.emplace_back(slot.key, std::move(slot.value));
        } else {
          Slot& moved = slots_[probe_empty(slot.key)];
          moved = std::move(slot);
          ++size_;
        }
      }
    }
    peak_size_ = size_;
    for (auto& [key, value] : gone) expired(key, value);
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t bucket_count() const noexcept { return generations_; }
  // Bytes of one entry's slot; the table is between a quarter and half full of them.
  static constexpr std::size_t slot_bytes() noexcept { return sizeof(Slot); }

 private:
  struct Slot {
    K key{};
    std::uint64_t generation = 0;  // 0: the slot is empty
    V value{};
  };

  static constexpr std::size_t k_min_capacity = 16;

  // A power of two at least twice `entries`.
  static std::size_t capacity_for(std::size_t entries) {
    return std::bit_ceil(std::max(k_min_capacity, entries * 2));
  }

  // Fibonacci hashing: consecutive and random ids both spread over the table.
  std::size_t home(const K& key) const noexcept {
    const std::uint64_t h = static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h >> 32 ^ h) & mask_;
  }

  Slot* find_slot(const K& key) {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.generation == 0) return nullptr;
      if (slot.key == key) return &slot;
    }
  }

  // The first empty slot on `key`'s probe sequence. The table must have one.
  std::size_t probe_empty(const K& key) const noexcept {
    std::size_t i = home(key);
    while (slots_[i].generation != 0) i = (i + 1) & mask_;
    return i;
  }

  Slot& find_or_add(const K& key) {
    if (Slot* slot = find_slot(key)) return *slot;
    if ((size_ + 1) * 2 > slots_.size()) grow();
    Slot& slot = slots_[probe_empty(key)];
    slot.key = key;
    slot.generation = current_;
    slot.value = V{};
    ++size_;
    if (size_ > peak_size_) peak_size_ = size_;
    return slot;
  }

  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(capacity_for(size_ + 1));
    mask_ = slots_.size() - 1;
    for (Slot& slot : old) {
      if (slot.generation != 0) slots_[probe_empty(slot.key)] = std::move(slot);
    }
  }

  // Empties slot `i` and shifts back the entries after it whose probe sequence passes through it,
  // so that every lookup still stops at the first empty slot.
  void remove(std::size_t i) {
    for (std::size_t j = (i + 1) & mask_; slots_[j].generation != 0; j = (j + 1) & mask_) {
      const std::size_t k = home(slots_[j].key);
      // The entry at j may move to i when i lies on its probe sequence, between k and j.
      if (((j - k) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = std::move(slots_[j]);
        i = j;
      }
    }
    slots_[i].generation = 0;
    slots_[i].value = V{};  // release what the value holds (a message id's string, say)
    --size_;
  }

  const std::uint64_t generations_;
  std::uint64_t current_ = 1;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::size_t peak_size_ = 0;  // the most entries since the last rotation
};

}  // namespace gale::worker
