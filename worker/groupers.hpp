#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gale/context.hpp>
#include <gale/export.hpp>
#include <gale/value.hpp>

#include "topology/src/plan.hpp"

namespace gale::worker {

// Picks the target tasks of one subscriber for each tuple of a stream. One instance per emitting
// task and subscriber, so it may keep state (round-robin position, load counts) without locks.
// Thread: the emitting task's executor.
class GALE_API Grouper {
 public:
  virtual ~Grouper();
  // Appends the chosen tasks to `out`.
  virtual void choose(const Values& values, std::vector<std::int32_t>& out) = 0;
};

struct GrouperArgs {
  const Context* context = nullptr;       // the emitting task (custom groupings)
  std::string stream;                     // the stream's name (custom groupings)
  std::vector<std::int32_t> local_tasks;  // tasks hosted by this worker (local_or_shuffle)
  std::uint64_t seed = 1;                 // shuffle order
  std::function<void(const std::string&)> report_error;  // a custom grouping misbehaved
};

// The grouper for a subscriber, or nullptr for a direct grouping (the emitter picks the task).
// Throws whatever a custom grouping's factory or prepare() throws.
GALE_API std::unique_ptr<Grouper> make_grouper(const detail::SubscriberPlan& subscriber,
                                               GrouperArgs args);

// Fields grouping's key hash over the selected values; stable across processes.
GALE_API std::uint64_t fields_hash(const Values& values,
                                   const std::vector<std::size_t>& field_indexes) noexcept;

}  // namespace gale::worker
