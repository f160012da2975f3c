#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>
#include <gale/export.hpp>
#include <gale/grouping.hpp>
#include <gale/task_layout.hpp>
#include <gale/topology.hpp>

#include "topology/src/tuple_data.hpp"

namespace gale::detail {

// One bolt subscribed to a stream, resolved to indices.
struct SubscriberPlan {
  std::int32_t component_index = -1;
  const Grouping* grouping = nullptr;
  std::vector<std::size_t> field_indexes;  // fields and partial_key groupings
  const std::vector<std::int32_t>* tasks = nullptr;
};

struct StreamPlan {
  detail::StreamMeta meta;
  bool direct = false;
  std::vector<SubscriberPlan> subscribers;
  // Event time: the index of the timestamp field an event-time windowed bolt reading this stream
  // goes by, whose highest value the emitting task sends on its watermark stream; -1: none.
  int timestamp_index = -1;
};

struct ExecutorPlan {
  std::int32_t component_index = -1;  // -1 for ackers
  std::vector<std::int32_t> tasks;
};

struct ComponentPlan {
  const ComponentDef* def = nullptr;
  std::int32_t index = -1;
  bool is_spout = false;
  Config config;                    // topology config merged with the component's
  std::vector<StreamPlan> streams;  // ordered by stream name, like ComponentDef::streams
  const std::vector<std::int32_t>* tasks = nullptr;
  int executors = 1;  // min(parallelism, num_tasks)
  // Event time: the index of the "__watermark" stream (-1: none) and how often each task sends
  // on it: the shortest watermark interval of the bolts it feeds.
  int watermark_stream = -1;
  std::int64_t watermark_interval_ms = 0;

  // Index of a declared stream, or -1.
  int stream_index(std::string_view stream) const noexcept;
};

// A topology resolved for running: task ids, stream and subscriber indices, merged configs and the
// split of tasks over executors. Identical in every worker of a topology.
// Thread-safety: immutable after construction.
class GALE_API Plan {
 public:
  // Throws ConfigError when the merged config is invalid.
  Plan(const Topology& topology, const Config& config);

  const Topology& topology() const noexcept { return *topology_; }
  const Config& config() const noexcept { return config_; }
  const TaskLayout& layout() const noexcept { return layout_; }
  const std::vector<ComponentPlan>& components() const noexcept { return components_; }
  const ComponentPlan& component(std::int32_t index) const { return components_[index]; }
  // Component index of a task, or -1 for an acker task.
  std::int32_t component_of_task(std::int32_t task) const { return task_component_[task]; }
  bool is_acker_task(std::int32_t task) const { return task_component_[task] < 0; }
  bool is_spout_task(std::int32_t task) const {
    auto c = task_component_[task];
    return c >= 0 && components_[c].is_spout;
  }
  const std::vector<std::int32_t>& acker_tasks() const { return layout_.acker_tasks(); }
  bool acking() const noexcept { return !layout_.acker_tasks().empty(); }
  // The acker task that owns a tree (fields grouping on the root id).
  std::int32_t acker_for(std::uint64_t root) const noexcept {
    const auto& ackers = layout_.acker_tasks();
    return ackers[root % ackers.size()];
  }
  // Every executor: each component's tasks split into min(parallelism, tasks) contiguous ranges,
  // then one executor per acker task.
  const std::vector<ExecutorPlan>& executors() const noexcept { return executors_; }
  // For the wire: the stream of a (component, stream) index pair, or nullptr.
  const detail::StreamMeta* resolve(std::int32_t component_index, std::int32_t stream_index) const;

 private:
  void check_windows() const;
  void plan_watermarks();

  const Topology* topology_;
  Config config_;
  TaskLayout layout_;
  std::vector<ComponentPlan> components_;
  std::vector<std::int32_t> task_component_;  // indexed by task id; [0] unused
  std::vector<ExecutorPlan> executors_;
};

// The acker tasks a topology runs with: none under topology.processing.guarantee = at_most_once,
// else topology.acker.executors (default 1).
[[nodiscard]] GALE_API int acker_task_count(const Config& config);

// The topology config with defaults applied, as read by the runtime.
struct RuntimeSettings {
  int acker_tasks = 1;
  std::int64_t message_timeout_ns = 30'000'000'000;
  bool timeouts_enabled = true;
  std::int64_t max_spout_pending = 0;  // 0: unbounded
  std::size_t queue_capacity = 16384;
  std::size_t batch_size = 64;
  std::int64_t spout_sleep_ns = 1'000'000;
  std::int64_t spout_sleep_max_ns = 100'000'000;
  std::int64_t executor_spin_ns = 50'000;
  bool executor_spin_light_load = false;
  bool debug = false;
  // topology.executor.stuck.secs in ns (0: executors are not watched) and whether the policy is
  // "restart".
  std::int64_t executor_stuck_ns = 60'000'000'000;
  bool restart_stuck = true;

  static RuntimeSettings from(const Config& config);
};

}  // namespace gale::detail
