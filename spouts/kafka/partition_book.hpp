#pragma once

// The Kafka spout's bookkeeping of its assigned partitions: which records are in flight, what they
// were (for a retry), and which offset each partition may commit. Kept apart from librdkafka so
// that it is tested without a broker (Record is the librdkafka message in the spout, any movable
// value in the tests), and so that a checkpoint hook can take the positions (positions()) and
// commit them (take_commits()) the way the periodic commit does.
//
// Built for the per-record path: a partition's records in flight sit in offset order in a deque
// (no node per record), found by their offset in O(1) while offsets are contiguous (binary search
// across the gaps of compacted or transactional topics), and a record in flight is named by a
// small partition handle and its offset, which the spout packs into an integer message id.

#include <algorithm>
#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gale::spouts::kafka {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// An offset to commit: the next offset to read of a partition.
struct CommitPosition {
  TopicPartition tp;
  std::int64_t next_offset = 0;
};

// One assignment of a partition to this task. A partition revoked and assigned again gets a new
// handle, so that an ack of a record read under the old assignment is told apart and ignored.
// Handles are 16 bits (they go into message ids) and are reused only after 65,535 assignments.
using PartitionHandle = std::uint16_t;

// A record's place: the spout's message id, unpacked.
struct InFlight {
  PartitionHandle handle = 0;
  std::int64_t offset = 0;
  auto operator<=>(const InFlight&) const = default;
};

// What done() found.
enum class Done {
  not_in_flight,  // not in flight here: acked twice, or its partition was revoked meanwhile
  done,
  done_after_failure,  // done, and it had failed before (the spout drops its retry bookkeeping)
};

// Thread: owned by one spout task; not synchronised.
template <class Record>
class PartitionBook {
 public:
  // One assigned partition.
  class Partition {
   public:
    const TopicPartition& tp() const noexcept { return tp_; }
    PartitionHandle handle() const noexcept { return handle_; }

   private:
    friend class PartitionBook;
    struct Slot {
      std::int64_t offset;
      Record record;
      bool pending;  // false: done, waiting for the records before it
      bool failed;   // failed at least once
    };

    Partition(TopicPartition tp, PartitionHandle handle) : tp_(std::move(tp)), handle_(handle) {}

    // The slot of `offset`, or null. Offsets ascend; without gaps the slot is at offset - first.
    Slot* find(std::int64_t offset) noexcept {
      if (slots_.empty() || offset < slots_.front().offset || offset >= end_) return nullptr;
      const auto guess = static_cast<std::size_t>(offset - slots_.front().offset);
      if (guess < slots_.size() && slots_[guess].offset == offset) return &slots_[guess];
      const auto it = std::lower_bound(
          slots_.begin(), slots_.end(), offset,
          [](const Slot& s, std::int64_t o) { return s.offset < o; });
      return it != slots_.end() && it->offset == offset ? &*it : nullptr;
    }
    // Drops the done records at the front: the first slot, if any, is then pending.
    void pop_done() {
      while (!slots_.empty() && !slots_.front().pending) slots_.pop_front();
    }
    // Everything before this offset is done: the first pending record, or the end of the
    // highest read when nothing is pending (storm-kafka-client's OffsetManager rule).
    std::int64_t committable() const noexcept {
      return slots_.empty() ? end_ : slots_.front().offset;
    }
    bool has_commit() const noexcept { return started_ && committable() > committed_; }
    // Offsets between the last commit and the end of the highest read: what a restart would
    // read again.
    std::int64_t uncommitted() const noexcept { return started_ ? end_ - committed_ : 0; }

    TopicPartition tp_;
    PartitionHandle handle_;
    bool started_ = false;        // a record was read
    std::int64_t committed_ = 0;  // the last commit (first: where the first record was read)
    std::int64_t end_ = 0;        // the offset after the highest read
    std::deque<Slot> slots_;      // read and not done, or done after a pending one; by offset
    std::size_t pending_ = 0;
  };

  // `max_uncommitted`: kafka.max.uncommitted.offsets, the backpressure cap per partition.
  explicit PartitionBook(std::size_t max_uncommitted)
      : max_uncommitted_(static_cast<std::int64_t>(max_uncommitted)) {}

  // `tp` is now assigned to this task; returns its handle. Its first record read sets where its
  // bookkeeping starts (the group's commit, or where the offset strategy put the consumer).
  // Assigning an assigned partition keeps its state and handle.
  PartitionHandle assign(const TopicPartition& tp) {
    if (const auto it = by_tp_.find(tp); it != by_tp_.end()) return it->second;
    do {
      ++last_handle_;
    } while (last_handle_ == 0 || parts_.count(last_handle_) != 0);
    parts_.emplace(last_handle_, Partition(tp, last_handle_));
    by_tp_.emplace(tp, last_handle_);
    return last_handle_;
  }
  // `tp` was revoked: returns the offset to commit for it (when it moved past the last commit),
  // and forgets its records, so that acks of their tuples that arrive later are ignored (the new
  // owner reads again from the commit).
  std::optional<CommitPosition> revoke(const TopicPartition& tp) {
    const auto it = by_tp_.find(tp);
    if (it == by_tp_.end()) return std::nullopt;
    Partition& part = parts_.at(it->second);
    std::optional<CommitPosition> out;
    if (part.has_commit()) out = CommitPosition{tp, part.committable()};
    in_flight_ -= part.pending_;
    parts_.erase(it->second);
    by_tp_.erase(it);
    return out;
  }
  // Forgets every partition and record, committing nothing (the consumer is closing).
  void clear() {
    parts_.clear();
    by_tp_.clear();
    in_flight_ = 0;
  }

  // The partition of `handle`, or null once it was revoked.
  [[nodiscard]] Partition* find(PartitionHandle handle) {
    const auto it = parts_.find(handle);
    return it == parts_.end() ? nullptr : &it->second;
  }
  // The assigned partition `tp`, or null.
  [[nodiscard]] Partition* find(const TopicPartition& tp) {
    const auto it = by_tp_.find(tp);
    return it == by_tp_.end() ? nullptr : find(it->second);
  }
  [[nodiscard]] bool assigned(const TopicPartition& tp) const { return by_tp_.count(tp) != 0; }
  [[nodiscard]] std::vector<TopicPartition> partitions() const {
    std::vector<TopicPartition> out;
    for (const auto& [tp, handle] : by_tp_) out.push_back(tp);
    return out;
  }

  // A record read from Kafka at `offset` of `part`; `record` is kept for a retry until the record
  // is done. Returns false, keeping nothing, when the offset is not past the highest read (a
  // duplicate fetch after a pause or a rebalance).
  bool read(Partition& part, std::int64_t offset, Record record) {
    if (!part.started_) {
      part.started_ = true;
      part.committed_ = offset;
      part.end_ = offset;
    }
    if (offset < part.end_) return false;
    part.slots_.push_back({offset, std::move(record), true, false});
    part.end_ = offset + 1;
    ++part.pending_;
    ++in_flight_;
    return true;
  }
  bool read(const TopicPartition& tp, std::int64_t offset, Record record) {
    Partition* part = find(tp);
    return part != nullptr && read(*part, offset, std::move(record));
  }

  // The record at `at` is done (its tuple tree, or its error-stream tuple, was acked); what it
  // kept is released.
  Done done(const InFlight& at) {
    Partition* part = find(at.handle);
    if (part == nullptr) return Done::not_in_flight;
    auto* slot = part->find(at.offset);
    if (slot == nullptr || !slot->pending) return Done::not_in_flight;
    const bool failed = slot->failed;
    slot->pending = false;
    slot->record = Record();
    --part->pending_;
    --in_flight_;
    part->pop_done();
    return failed ? Done::done_after_failure : Done::done;
  }
  // The record kept for `at` while it is in flight, or null. `failed` marks it as having failed.
  [[nodiscard]] Record* record(const InFlight& at) {
    Partition* part = find(at.handle);
    if (part == nullptr) return nullptr;
    auto* slot = part->find(at.offset);
    return slot != nullptr && slot->pending ? &slot->record : nullptr;
  }
  // Marks the record at `at` as failed; false when it is not in flight.
  bool mark_failed(const InFlight& at) {
    Partition* part = find(at.handle);
    auto* slot = part == nullptr ? nullptr : part->find(at.offset);
    if (slot == nullptr || !slot->pending) return false;
    slot->failed = true;
    return true;
  }

  // The partitions whose committable offset moved past their last commit, with that offset; each
  // is recorded as committed (the caller commits them to Kafka). The periodic commit, the close
  // and a checkpoint's "commit up to" go through here.
  std::vector<CommitPosition> take_commits() {
    std::vector<CommitPosition> out;
    for (auto& [handle, part] : parts_) {
      if (!part.has_commit()) continue;
      part.committed_ = part.committable();
      out.push_back({part.tp_, part.committed_});
    }
    return out;
  }
  // The last offset recorded as committed, per partition with a record read: what a commit that
  // failed must send again.
  [[nodiscard]] std::vector<CommitPosition> committed() const {
    std::vector<CommitPosition> out;
    for (const auto& [handle, part] : parts_) {
      if (part.started_) out.push_back({part.tp_, part.committed_});
    }
    return out;
  }
  // The committable offset of each partition with a record read (a checkpoint's snapshot of the
  // source position), without recording anything.
  [[nodiscard]] std::vector<CommitPosition> positions() const {
    std::vector<CommitPosition> out;
    for (const auto& [handle, part] : parts_) {
      if (part.started_) out.push_back({part.tp_, part.committable()});
    }
    return out;
  }

  // Offsets between the last commit and the highest read of `part` reached the cap: stop
  // fetching.
  [[nodiscard]] bool at_cap(const Partition& part) const {
    return part.uncommitted() >= max_uncommitted_;
  }
  // `part` has half the cap or more past its last commit, and records done past it: committing
  // now keeps it from reaching the cap while its records are being done.
  [[nodiscard]] bool commit_due(const Partition& part) const {
    return 2 * part.uncommitted() >= max_uncommitted_ && part.has_commit();
  }
  [[nodiscard]] bool at_cap(const TopicPartition& tp) {
    const Partition* part = find(tp);
    return part != nullptr && at_cap(*part);
  }
  [[nodiscard]] bool commit_due(const TopicPartition& tp) {
    const Partition* part = find(tp);
    return part != nullptr && commit_due(*part);
  }
  // Records in flight across every partition.
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }

 private:
  std::int64_t max_uncommitted_;
  std::unordered_map<PartitionHandle, Partition> parts_;
  std::map<TopicPartition, PartitionHandle> by_tp_;
  PartitionHandle last_handle_ = 0;
  std::size_t in_flight_ = 0;
};

}  // namespace gale::spouts::kafka
