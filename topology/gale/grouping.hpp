#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gale/export.hpp>
#include <gale/fields.hpp>
#include <gale/value.hpp>

namespace gale {

class Context;

// A user-defined grouping (Storm's CustomStreamGrouping). One instance per emitting task, created
// by the factory given to custom_grouping() and owned by the runtime; called only on that task's
// thread. An exception from prepare() counts as a failed open()/prepare() of the emitting task;
// one from choose_tasks() propagates out of the emit that called it.
class GALE_API CustomStreamGrouping {
 public:
  virtual ~CustomStreamGrouping();
  // Called once before the first choose_tasks() with the subscribing component's tasks.
  virtual void prepare(const Context& context, const std::string& stream,
                       const std::vector<std::int32_t>& target_tasks);
  // Appends the target tasks for `values` to `out` (which the caller has cleared). Tasks not among
  // the target tasks are dropped and reported as an error.
  virtual void choose_tasks(std::int32_t source_task, const Values& values,
                            std::vector<std::int32_t>& out) = 0;
};

using CustomGroupingFactory = std::function<std::unique_ptr<CustomStreamGrouping>()>;

// How the tuples of one stream are spread over the tasks of a subscribing bolt.
enum class GroupingType {
  shuffle,           // round-robin over a shuffled order: even load
  fields,            // same values of the grouping fields -> same task
  all,               // every task gets every tuple
  global,            // the task with the lowest id gets every tuple
  none,              // no preference (spread like shuffle)
  direct,            // the emitter picks the task with emit_direct
  local_or_shuffle,  // shuffle among tasks in the same worker when there are any
  partial_key,       // key to the less loaded of two candidate tasks (load balanced fields)
  custom,            // a CustomStreamGrouping decides
};

GALE_API const char* grouping_name(GroupingType type) noexcept;

struct Grouping {
  GroupingType type = GroupingType::shuffle;
  Fields fields;                 // fields and partial_key only
  CustomGroupingFactory custom;  // custom only
};

}  // namespace gale
