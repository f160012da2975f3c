#pragma once

// Internal: what a gale::Tuple handle points to. Shared by topology/ (Tuple's getters) and the
// runtime in worker/ (routing, acking, serialization). Never installed.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include <gale/fields.hpp>
#include <gale/tuple.hpp>
#include <gale/value.hpp>

#include "topology/src/block_pool.hpp"

namespace gale::detail {

// One declared stream of one component, resolved to integers once when the runtime starts so that
// the hot path never looks up names. Owned by the runtime's plan; outlives every tuple on it.
struct StreamMeta {
  std::string component;
  std::string stream;
  Fields fields;
  std::int32_t component_index = -1;  // position in Topology::components(); -1 for system streams
  std::int32_t stream_index = -1;     // position in the component's streams (ordered by name)
};

// The stream tick tuples are on: component "__system", stream "__tick", no fields.
const StreamMeta& tick_stream_meta();

// The tuple trees a tuple belongs to: for each spout tuple (root) the id of the edge that carries
// this tuple. Acking the tuple XORs the edge id (and the ids of its anchored children) into the root.
struct Anchor {
  std::uint64_t root;
  std::uint64_t edge;
  friend bool operator==(const Anchor&, const Anchor&) = default;
};

// The anchors of one tuple. Nearly every tracked tuple belongs to one tree, so up to
// `inline_capacity` anchors live inside the tuple and only joins of many trees allocate.
class AnchorList {
 public:
  static constexpr std::size_t inline_capacity = 2;

  AnchorList() noexcept = default;
  AnchorList(std::initializer_list<Anchor> anchors) {
    for (const Anchor& a : anchors) push_back(a);
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  const Anchor* begin() const noexcept { return data(); }
  const Anchor* end() const noexcept { return data() + size_; }
  Anchor* begin() noexcept { return data(); }
  Anchor* end() noexcept { return data() + size_; }
  const Anchor& operator[](std::size_t i) const noexcept { return data()[i]; }

  AnchorList(const AnchorList& other) { *this = other; }
  AnchorList(AnchorList&& other) noexcept
      : size_(std::exchange(other.size_, 0)), heap_(std::move(other.heap_)) {
    if (!heap_) std::copy(other.inline_.begin(), other.inline_.begin() + size_, inline_.begin());
  }
  AnchorList& operator=(const AnchorList& other) {
    if (this != &other) {
      clear();
      for (const Anchor& a : other) push_back(a);
    }
    return *this;
  }
  AnchorList& operator=(AnchorList&& other) noexcept {
    if (this != &other) {
      size_ = std::exchange(other.size_, 0);
      heap_ = std::move(other.heap_);
      if (!heap_) std::copy(other.inline_.begin(), other.inline_.begin() + size_, inline_.begin());
    }
    return *this;
  }

  void push_back(const Anchor& anchor) {
    if (!heap_ && size_ < inline_capacity) {
      inline_[size_] = anchor;
    } else {
      if (!heap_) heap_ = std::make_unique<std::vector<Anchor>>(inline_.begin(), inline_.end());
      heap_->push_back(anchor);
    }
    ++size_;
  }
  void reserve(std::size_t n) {
    if (n <= inline_capacity) return;
    if (!heap_) {
      heap_ = std::make_unique<std::vector<Anchor>>(inline_.begin(), inline_.begin() + size_);
    }
    heap_->reserve(n);
  }
  void clear() noexcept {
    size_ = 0;
    heap_.reset();
  }

  friend bool operator==(const AnchorList& a, const AnchorList& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  const Anchor* data() const noexcept { return heap_ ? heap_->data() : inline_.data(); }
  Anchor* data() noexcept { return heap_ ? heap_->data() : inline_.data(); }

  std::size_t size_ = 0;
  // Every anchor once there are (or were reserved) more than inline_capacity; rare, so kept out of
  // line to keep tuples small.
  std::unique_ptr<std::vector<Anchor>> heap_;
  std::array<Anchor, inline_capacity> inline_;  // the first size_ are set (unless heap_)
};

// What a Tuple handle points to: an input tuple as the receiving task sees it. The receiving
// executor builds it on its own thread from the message that carried the tuple, in a block of its
// own pool: a tuple dropped after execute() returns its block to the same thread's free list, so
// the next tuple reuses a cache-hot block and no tuple memory moves between cores.
// Thread: the receiving task's executor (the reference count may be released on any thread).
struct TupleData {
  // Tuple handles sharing this tuple. The last one destroys it (release_tuple_data()).
  std::atomic<std::uint32_t> refs{1};
  std::int32_t source_task = 0;
  const StreamMeta* meta = nullptr;
  // Set once the tuple was acked or failed, so a second call is ignored.
  bool done = false;
  // XOR of the edge ids of the tuples emitted anchored to this one.
  std::uint64_t ack_val = 0;
  Values values;
  AnchorList anchors;  // empty when the tuple is not tracked
};

// A new, empty TupleData with one reference, from the tuple block pool.
inline TupleData* new_tuple_data() {
  static_assert(sizeof(TupleData) <= BlockPool::block_size);
  static_assert(alignof(TupleData) <= alignof(std::max_align_t));
  // Default-initialized, not value-initialized: no zeroing of the unused value slots.
  return ::new (BlockPool::allocate()) TupleData;
}

// Drops one reference; the last one destroys the tuple and frees its block.
inline void release_tuple_data(TupleData* data) noexcept {
  // A count of 1 is ours alone: nobody else holds a handle that could add one, so skip the
  // locked decrement. The acquire pairs with the release of other threads' decrements.
  if (data->refs.load(std::memory_order_acquire) != 1 &&
      data->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) {
    return;
  }
  data->~TupleData();
  BlockPool::deallocate(data);
}

struct TupleAccess {
  // A handle that takes over the caller's reference to `data`.
  static Tuple wrap(TupleData* data) noexcept { return Tuple(data); }
  static TupleData* data(const Tuple& tuple) noexcept { return tuple.data_; }
};

}  // namespace gale::detail
