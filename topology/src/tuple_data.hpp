#pragma once

// Internal: what a gale::Tuple handle points to. Shared by topology/ (Tuple's getters) and the
// runtime in worker/ (routing, acking, serialization). Never installed.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
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
  AnchorList(AnchorList&&) noexcept = default;
  AnchorList& operator=(const AnchorList& other) {
    if (this != &other) {
      clear();
      for (const Anchor& a : other) push_back(a);
    }
    return *this;
  }
  AnchorList& operator=(AnchorList&&) noexcept = default;

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
  std::array<Anchor, inline_capacity> inline_;  // the first size_ are set (unless heap_)
  // Every anchor once there are (or were reserved) more than inline_capacity; rare, so kept out of
  // line to keep tuples small.
  std::unique_ptr<std::vector<Anchor>> heap_;
};

// Thread: built by the emitting executor, then owned by the receiving executor's thread.
// The members are ordered so that a small tuple's used bytes are contiguous (the values' unused
// inline slots come last): every line of a tuple moves from the emitting core to the receiving one.
struct TupleData {
  const StreamMeta* meta = nullptr;
  std::int32_t source_task = 0;
  // Receiving task only: set once the tuple was acked or failed, so a second call is ignored.
  bool done = false;
  // Receiving task only: XOR of the edge ids of the tuples emitted anchored to this one.
  std::uint64_t ack_val = 0;
  AnchorList anchors;  // empty when the tuple is not tracked
  Values values;
};

// A new, empty TupleData from the tuple block pool (one allocation for the data and its shared
// count, and no allocator lock when tuples move between threads).
inline std::shared_ptr<TupleData> new_tuple_data() {
  // The shared count and the data must fit one block, or every tuple would bypass the pool.
  static_assert(sizeof(TupleData) + 32 <= BlockPool::block_size);  // 16 with libstdc++
  return std::allocate_shared<TupleData>(PoolAllocator<TupleData>{});
}

struct TupleAccess {
  static Tuple wrap(std::shared_ptr<TupleData> data) noexcept { return Tuple(std::move(data)); }
  static TupleData* data(const Tuple& tuple) noexcept { return tuple.data_.get(); }
};

}  // namespace gale::detail
