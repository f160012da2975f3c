#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>
#include <gale/export.hpp>
#include <gale/fields.hpp>
#include <gale/streams.hpp>

namespace gale {

namespace common {
class Clock;
}
class Topology;
class TaskLayout;

// What a spout or bolt task knows about itself and its topology, given to open()/prepare().
// Owned by the runtime; valid until close()/cleanup() returns. Thread-safety: read-only.
class GALE_API Context {
 public:
  // Built by the runtime; `topology` and `layout` must outlive the Context. Throws TopologyError
  // when `task_id` is not a task of `layout`.
  // `clock` is the runtime's (simulated in the test kit); null: the steady clock.
  Context(const Topology& topology, const TaskLayout& layout, Config config, std::int32_t task_id,
          const common::Clock* clock = nullptr);

  std::int32_t task_id() const noexcept { return task_id_; }
  const std::string& component_id() const noexcept { return component_id_; }
  // Index of this task among its component's tasks, 0-based.
  int task_index() const noexcept { return task_index_; }
  // The tasks of a component, ascending. Throws TopologyError for an unknown component.
  const std::vector<std::int32_t>& component_tasks(std::string_view component) const;
  // The declared fields of a component's stream. Throws TopologyError when unknown.
  const Fields& output_fields(std::string_view component,
                              std::string_view stream = default_stream) const;
  // The topology config merged with this component's own config.
  const Config& config() const noexcept { return config_; }
  // The runtime's clock: nanoseconds and milliseconds since an arbitrary epoch, monotonic; the
  // test kit's simulated time in a test (what timeouts, ticks and windows go by). Any thread.
  std::int64_t now_ns() const noexcept;
  std::int64_t now_ms() const noexcept { return now_ns() / 1'000'000; }
  const Topology& topology() const noexcept { return *topology_; }
  const TaskLayout& layout() const noexcept { return *layout_; }

 private:
  const Topology* topology_;
  const TaskLayout* layout_;
  Config config_;
  std::int32_t task_id_;
  const common::Clock* clock_;
  std::string component_id_;
  int task_index_;
};

}  // namespace gale
