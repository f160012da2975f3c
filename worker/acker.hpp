#pragma once

#include <cstddef>
#include <cstdint>

#include <gale/export.hpp>

#include "worker/rotating_map.hpp"

namespace gale::worker {

// Storm's acking algorithm: one 64-bit XOR per pending spout tuple tree (root). The spout inits the
// root with the XOR of the edge ids it emitted; every ack XORs in the acked tuple's edge id and the
// ids of the tuples anchored to it, so each edge id enters exactly twice and the value returns to
// zero exactly when the whole tree is processed. Memory per pending tree is constant.
//
// Messages may arrive in any order (an ack can overtake its tree's init), so an entry only completes
// once its init was seen. Entries of trees that never complete are dropped by rotate(); the spout
// times those trees out on its own.
// Thread: owned by one acker executor.
class GALE_API AckerTable {
 public:
  enum class Outcome : std::uint8_t { pending, completed, failed };

  struct Result {
    Outcome outcome = Outcome::pending;
    std::int32_t spout_task = 0;  // set when outcome != pending
  };

  explicit AckerTable(std::size_t buckets = 4) : entries_(buckets) {}

  // The spout task emitted root with the XOR of its first edges.
  Result init(std::uint64_t root, std::uint64_t xor_value, std::int32_t spout_task);
  // A tuple of the tree was acked: XOR in its edge id and its children's.
  Result ack(std::uint64_t root, std::uint64_t xor_value);
  // A tuple of the tree failed: the tree fails as soon as its spout task is known.
  Result fail(std::uint64_t root);
  // Expires the oldest bucket of entries; returns how many trees were dropped.
  std::size_t rotate();

  std::size_t pending() const noexcept { return entries_.size(); }
  // Bytes of one pending tree's slot (id, generation, entry); the table keeps 2-4 slots per tree.
  static constexpr std::size_t entry_bytes() noexcept {
    return RotatingMap<std::uint64_t, Entry>::slot_bytes();
  }

 private:
  struct Entry {
    std::uint64_t value = 0;
    std::int32_t spout_task = 0;  // 0 until the init arrived
    bool failed = false;
  };
  Result settle(std::uint64_t root, Entry& entry);

  RotatingMap<std::uint64_t, Entry> entries_;
};

}  // namespace gale::worker
