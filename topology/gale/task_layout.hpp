#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <gale/export.hpp>

namespace gale {

class Topology;

// The task ids of a topology, identical in every process: components in the order of their ids get
// consecutive task ids starting at 1, then the acker tasks (component "__acker").
// Thread-safety: immutable after construction.
class GALE_API TaskLayout {
 public:
  // Throws TopologyError when `acker_tasks` is negative or a component's task count is invalid.
  // Keeps no reference to `topology`.
  TaskLayout(const Topology& topology, int acker_tasks);

  // Total number of tasks; task ids are 1..task_count().
  std::int32_t task_count() const noexcept { return static_cast<std::int32_t>(component_of_.size()); }
  // REQUIRES: 1 <= task <= task_count().
  const std::string& component_of(std::int32_t task) const {
    return components_[static_cast<std::size_t>(component_of_[task - 1])];
  }
  // Index of `task` among its component's tasks (0-based).
  int task_index(std::int32_t task) const { return index_of_[task - 1]; }
  // The tasks of a component, ascending. Throws TopologyError for an unknown component.
  const std::vector<std::int32_t>& tasks_of(std::string_view component) const;
  const std::vector<std::int32_t>& acker_tasks() const noexcept { return acker_tasks_; }
  const std::vector<std::string>& components() const noexcept { return components_; }

 private:
  std::vector<std::string> components_;  // user components in id order, then "__acker"
  std::map<std::string, std::vector<std::int32_t>, std::less<>> tasks_;
  std::vector<std::int32_t> component_of_;  // indexed by task id - 1: position in components_
  std::vector<std::int32_t> acker_tasks_;   // a copy: looked up for every acking message
  std::vector<int> index_of_;
};

}  // namespace gale
