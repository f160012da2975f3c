#pragma once

// Barrier alignment of one task with several input channels (asynchronous barrier snapshots, as
// Flink's aligned checkpoints and Heron's checkpoint gateway): once barrier N arrived from a
// channel, what that channel sends next is kept back until barrier N arrived from every channel.
// Then the task is aligned: everything before the barriers has been processed and nothing after
// them, so it snapshots its state, forwards barrier N, and goes on with what was kept, in the
// order it arrived. Gale's channels share one queue per executor (and one socket per worker), so
// a channel cannot be left unread as in Flink: its messages are kept here, up to a bound beyond
// which the checkpoint is aborted (declined) rather than memory grown without limit, as Heron's
// buffer cap does (but saying so, where Heron's checkpoint silently never completes).
//
// A newer barrier before the alignment finished subsumes the older checkpoint (it was aborted
// upstream); a cancel marker aborts it; a channel that ends counts as aligned. Barriers of a
// checkpoint that ended (completed, aborted) are ignored.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace gale::worker {

// What an event asks the task to do.
struct AlignmentEvent {
  enum class Kind {
    aligned,  // snapshot now, forward barrier `checkpoint`, then process take_released()
    aborted,  // decline `checkpoint` (with `reason`), forward its cancel marker, then process
              // take_released()
  };
  Kind kind;
  std::int64_t checkpoint;
  std::string reason;
};

// Thread: the task's executor thread; not synchronised.
template <class Message>
class BarrierAligner {
 public:
  // `channels`: the upstream tasks this task reads (each sends every barrier once);
  // `max_kept`: how many messages (in the caller's unit, e.g. tuples) may be kept back.
  BarrierAligner(std::set<std::int32_t> channels, std::size_t max_kept)
      : channels_(std::move(channels)), max_kept_(max_kept) {}

  // A data message from `channel`: true when the task processes it now; false when it was kept
  // (moved from) because the channel's barrier arrived first. `weight` counts against max_kept.
  // Keeping it past the bound aborts the checkpoint: the event is returned in `events`.
  bool admit(std::int32_t channel, Message& message, std::size_t weight,
             std::vector<AlignmentEvent>& events) {
    if (!current_ || arrived_.count(channel) == 0) return true;
    kept_.emplace_back(std::move(message));
    kept_weight_ += weight;
    if (kept_weight_ > max_kept_) {
      abort(events, "alignment kept more than " + std::to_string(max_kept_) +
                        " tuples back (topology.checkpoint.alignment.max.tuples)");
    }
    return false;
  }

  // Barrier `checkpoint` from `channel`.
  std::vector<AlignmentEvent> on_barrier(std::int32_t channel, std::int64_t checkpoint) {
    std::vector<AlignmentEvent> events;
    if (channels_.count(channel) == 0 || checkpoint <= ended_) return events;
    if (current_ && checkpoint > *current_) {
      abort(events, "checkpoint " + std::to_string(checkpoint) + " arrived before it aligned");
    }
    if (!current_) current_ = checkpoint;
    if (checkpoint < *current_) return events;  // an older one, already subsumed
    arrived_.insert(channel);
    finish_if_aligned(events);
    return events;
  }

  // The cancel marker of `checkpoint` (an upstream task declined it).
  std::vector<AlignmentEvent> on_cancel(std::int64_t checkpoint, const std::string& reason) {
    std::vector<AlignmentEvent> events;
    if (checkpoint <= ended_) return events;
    if (current_ && checkpoint >= *current_) {
      abort(events, reason);
    }
    ended_ = std::max(ended_, checkpoint);  // its barriers, still on their way, are ignored
    return events;
  }

  // `channel` ended (its task is gone for good): it no longer holds an alignment back.
  std::vector<AlignmentEvent> remove_channel(std::int32_t channel) {
    std::vector<AlignmentEvent> events;
    channels_.erase(channel);
    arrived_.erase(channel);
    if (current_) finish_if_aligned(events);
    return events;
  }

  // What was kept back, in arrival order, once an event released it. The task processes these
  // directly, before anything newer, and never through admit() again: they came before any
  // barrier that arrived since.
  [[nodiscard]] std::vector<Message> take_released() {
    std::vector<Message> out = std::move(released_);
    released_.clear();
    return out;
  }

  [[nodiscard]] std::optional<std::int64_t> aligning() const noexcept { return current_; }
  [[nodiscard]] std::size_t kept() const noexcept { return kept_weight_; }

 private:
  void finish_if_aligned(std::vector<AlignmentEvent>& events) {
    for (std::int32_t c : channels_) {
      if (arrived_.count(c) == 0) return;
    }
    events.push_back({AlignmentEvent::Kind::aligned, *current_, ""});
    end();
  }
  void abort(std::vector<AlignmentEvent>& events, std::string reason) {
    events.push_back({AlignmentEvent::Kind::aborted, *current_, std::move(reason)});
    end();
  }
  void end() {
    ended_ = *current_;
    current_.reset();
    arrived_.clear();
    for (Message& m : kept_) released_.emplace_back(std::move(m));
    kept_.clear();
    kept_weight_ = 0;
  }

  std::set<std::int32_t> channels_;
  const std::size_t max_kept_;
  std::optional<std::int64_t> current_;  // the checkpoint being aligned
  std::int64_t ended_ = 0;               // the newest checkpoint that ended here
  std::set<std::int32_t> arrived_;       // channels whose barrier of current_ arrived
  std::deque<Message> kept_;
  std::size_t kept_weight_ = 0;
  std::vector<Message> released_;
};

}  // namespace gale::worker
