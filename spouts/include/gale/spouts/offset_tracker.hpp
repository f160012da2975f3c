#pragma once

// Which source positions a reliable spout may commit: the bookkeeping shared by the Kafka, Redis
// Streams and file spouts. Part of libgale_components (pkg-config module gale-components).

#include <cstdint>
#include <map>

namespace gale::spouts {

// One partition's (or file's) records in flight, by position. A record at `position` ends at
// `next` (Kafka: offset + 1; a file: the byte after the line), so sources whose positions have
// gaps (compacted topics, transaction markers, variable-length lines) need no special case.
//
// A record is emitted, then either done (acked, or given up on and routed to an error stream whose
// tuple was acked) or still pending (in flight, or failed and waiting for its retry). The
// committable position is the start of the lowest pending record, or the end of the highest done
// one when nothing is pending: everything before it is done, so a restart that resumes there
// loses nothing (storm-kafka-client's OffsetManager rule).
// Thread: owned by one spout task; not synchronised.
class OffsetTracker {
 public:
  // `committed`: the position the source says is committed (where reading resumes).
  explicit OffsetTracker(std::int64_t committed = 0) noexcept
      : committed_(committed), done_up_to_(committed) {}

  // A record read from the source at `position`, ending at `next`. Returns false (and records
  // nothing) when the position is already tracked or lies before the committed position: a
  // duplicate delivery, which the spout should not emit again.
  bool emitted(std::int64_t position, std::int64_t next);
  // The record at `position` is done. Returns false when it was not pending.
  bool done(std::int64_t position);
  // Forgets everything and starts again at `committed` (after a rebalance or a seek).
  void reset(std::int64_t committed) noexcept;

  // Everything before this position is done.
  [[nodiscard]] std::int64_t committable() const noexcept;
  // committable() moved past the last commit(): worth committing now.
  [[nodiscard]] bool has_commit() const noexcept { return committable() > committed_; }
  // Records that the source now stores committable() as committed; returns it.
  std::int64_t commit() noexcept;
  [[nodiscard]] std::int64_t committed() const noexcept { return committed_; }

  // Records emitted and not yet done.
  [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }
  // Records between the committed position and the highest emitted one, done or not: what a
  // restart would read again. A spout caps it per partition as backpressure.
  [[nodiscard]] std::size_t uncommitted() const noexcept { return pending_.size() + done_.size(); }
  [[nodiscard]] bool is_pending(std::int64_t position) const noexcept {
    return pending_.count(position) != 0;
  }

 private:
  std::int64_t committed_;
  std::int64_t done_up_to_;                   // the end of the highest done record
  std::map<std::int64_t, std::int64_t> pending_;  // position -> next
  std::map<std::int64_t, std::int64_t> done_;     // done above committed: position -> next
};

}  // namespace gale::spouts
