#include <gale/errors.hpp>
#include <gale/streams.hpp>
#include <gale/task_layout.hpp>
#include <gale/topology.hpp>
#include <limits>
#include <string>

namespace gale {


TaskLayout::TaskLayout(const Topology& topology, int acker_tasks) {
  if (acker_tasks < 0) {
    throw TopologyError("the number of acker tasks must be at least 0, got " +
                        std::to_string(acker_tasks));
  }
  auto add_component = [this](const std::string& id, int tasks) {
    // Task ids are int32 on the wire; a topology with that many tasks is a configuration mistake.
    if (static_cast<long long>(component_of_.size()) + tasks >
        std::numeric_limits<std::int32_t>::max()) {
      throw TopologyError("component '" + id + "': too many tasks in the topology");
    }
    auto [it, inserted] = tasks_.try_emplace(id);
    // Only a hand-made Topology can get here: the builder reserves "__" ids for Gale.
    if (!inserted) throw TopologyError("component id '" + id + "' is used twice");
    const auto component = static_cast<std::int32_t>(components_.size());
    components_.push_back(id);
    auto& ids = it->second;
    ids.reserve(static_cast<std::size_t>(tasks));
    for (int i = 0; i < tasks; ++i) {
      ids.push_back(static_cast<std::int32_t>(component_of_.size()) + 1);
      component_of_.push_back(component);
      index_of_.push_back(i);
    }
  };
  // Topology keeps its components sorted by id, so every process derives the same ids from the
  // same topology without exchanging them.
  for (const ComponentDef& def : topology.components()) {
    if (def.num_tasks < 1) {
      throw TopologyError("component '" + def.id + "' has " + std::to_string(def.num_tasks) +
                          " tasks; it needs at least 1");
    }
    add_component(def.id, def.num_tasks);
  }
  // The acker is always listed, with no tasks when acking is off, so tasks_of(acker_component)
  // and acker_tasks() work the same either way.
  add_component(acker_component, acker_tasks);
  acker_tasks_ = tasks_.find(acker_component)->second;
}

const std::vector<std::int32_t>& TaskLayout::tasks_of(std::string_view component) const {
  auto it = tasks_.find(component);
  if (it == tasks_.end()) {
    throw TopologyError("unknown component '" + std::string(component) + "'");
  }
  return it->second;
}


}  // namespace gale
