#include <gale/context.hpp>
#include <gale/errors.hpp>
#include <gale/task_layout.hpp>
#include <gale/topology.hpp>

#include <chrono>
#include <string>

#include "common/clock.hpp"

namespace gale {

namespace {

// Checked before the layout is indexed: component_of() and task_index() do not check bounds.
std::int32_t checked_task(const TaskLayout& layout, std::int32_t task_id) {
  if (task_id < 1 || task_id > layout.task_count()) {
    throw TopologyError("task " + std::to_string(task_id) + " does not exist (tasks are 1.." +
                        std::to_string(layout.task_count()) + ")");
  }
  return task_id;
}

}  // namespace

Context::Context(const Topology& topology, const TaskLayout& layout, Config config,
                 std::int32_t task_id, const common::Clock* clock)
    : topology_(&topology),
      layout_(&layout),
      config_(std::move(config)),
      task_id_(checked_task(layout, task_id)),
      clock_(clock),
      component_id_(layout.component_of(task_id)),
      task_index_(layout.task_index(task_id)) {
  // config() promises the topology config merged with the component's own. Merging here means a
  // caller may pass either the plain topology config or an already merged one: merging the
  // component's entries a second time changes nothing. Acker tasks have no ComponentDef.
  if (const ComponentDef* def = topology.find(component_id_)) config_.merge(def->config);
}

const std::vector<std::int32_t>& Context::component_tasks(std::string_view component) const {
  return layout_->tasks_of(component);
}

const Fields& Context::output_fields(std::string_view component, std::string_view stream) const {
  const ComponentDef& def = topology_->component(component);
  if (const StreamDef* s = def.find_stream(stream)) return s->fields;
  throw TopologyError("component '" + def.id + "' declares no stream '" + std::string(stream) +
                      "'");
}

std::int64_t Context::now_ns() const noexcept {
  if (clock_ != nullptr) return clock_->now_ns();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace gale
