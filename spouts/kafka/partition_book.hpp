#pragma once

// The Kafka spout's bookkeeping of its assigned partitions: which records are in flight, what they
// were (for a retry), and which offset each partition may commit. Kept apart from librdkafka so
// that it is tested without a broker, and so that a checkpoint hook can take the positions
// (positions()) and commit them (take_commits()) the way the periodic commit does.

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gale/spouts/offset_tracker.hpp>
#include <gale/value.hpp>

namespace gale::spouts::kafka {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// A record's place in Kafka: the spout's message id.
struct RecordPosition {
  TopicPartition tp;
  std::int64_t offset = 0;
  auto operator<=>(const RecordPosition&) const = default;
};

// An offset to commit: the next offset to read of a partition.
struct CommitPosition {
  TopicPartition tp;
  std::int64_t next_offset = 0;
};

// Thread: owned by one spout task; not synchronised.
class PartitionBook {
 public:
  // `max_uncommitted`: kafka.max.uncommitted.offsets, the backpressure cap per partition.
  explicit PartitionBook(std::size_t max_uncommitted) : max_uncommitted_(max_uncommitted) {}

  // `tp` is now assigned to this task. Its first record read sets where its bookkeeping starts
  // (the group's commit, or where the offset strategy put the consumer). Assigning an assigned
  // partition keeps its state.
  void assign(const TopicPartition& tp);
  // `tp` was revoked: returns the offset to commit for it (when it moved past the last commit),
  // and forgets its records, so that acks of their tuples that arrive later are ignored (the new
  // owner reads again from the commit).
  std::optional<CommitPosition> revoke(const TopicPartition& tp);
  [[nodiscard]] bool assigned(const TopicPartition& tp) const { return parts_.count(tp) != 0; }
  [[nodiscard]] std::vector<TopicPartition> partitions() const;

  // A record read from Kafka; `record` is what the spout emits for it, kept for a retry until the
  // record is done. Returns false, keeping nothing, when the partition is not assigned or the
  // record is already in flight or committed (a duplicate fetch after a pause or a rebalance).
  bool read(const RecordPosition& at, Values record);
  // The record at `at` is done (its tuple tree, or its error-stream tuple, was acked). Returns
  // false when it is not in flight here (its partition was revoked meanwhile).
  bool done(const RecordPosition& at);
  // The record kept for `at` while it is in flight, or null.
  [[nodiscard]] const Values* record(const RecordPosition& at) const;

  // The partitions whose committable offset moved past their last commit, with that offset; each
  // is recorded as committed (the caller commits them to Kafka). The periodic commit, the close
  // and a checkpoint's "commit up to" go through here.
  std::vector<CommitPosition> take_commits();
  // The last offset recorded as committed, per partition with a record read: what a commit that
  // failed must send again.
  [[nodiscard]] std::vector<CommitPosition> committed() const;
  // The committable offset of each partition with a record read (a checkpoint's snapshot of the
  // source position), without recording anything.
  [[nodiscard]] std::vector<CommitPosition> positions() const;

  // Records between the last commit and the highest read of `tp` reached the cap: stop fetching.
  [[nodiscard]] bool at_cap(const TopicPartition& tp) const;
  // `tp` has half the cap or more past its last commit, and records done past it: committing now
  // keeps it from reaching the cap while its records are being done.
  [[nodiscard]] bool commit_due(const TopicPartition& tp) const;
  // Records in flight across every partition.
  [[nodiscard]] std::size_t in_flight() const;

 private:
  struct Partition {
    std::optional<OffsetTracker> tracker;    // from the first record read
    std::map<std::int64_t, Values> records;  // in flight, by offset
  };

  std::size_t max_uncommitted_;
  std::map<TopicPartition, Partition> parts_;
};

}  // namespace gale::spouts::kafka
