#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <gale/component.hpp>
#include <gale/config.hpp>
#include <gale/export.hpp>
#include <gale/grouping.hpp>
#include <gale/streams.hpp>
#include <gale/topology.hpp>

namespace gale {

// Declares a component's parallelism and config; returned by set_spout/set_bolt, owned by the
// builder. References stay valid until the builder is destroyed. Thread: the builder's.
class GALE_API ComponentDeclarer {
 public:
  virtual ~ComponentDeclarer();
  // Number of tasks (default: the parallelism). Throws TopologyError when below 1.
  ComponentDeclarer& set_num_tasks(int tasks);
  // Component-specific config, e.g. topology.tick.tuple.freq.secs or topology.max.spout.pending.
  // Checked by build(), which throws TopologyError naming the component for an invalid value.
  ComponentDeclarer& add_configuration(std::string key, Value value);
  // Sets topology.max.spout.pending for this component.
  ComponentDeclarer& set_max_spout_pending(int pending);

 protected:
  explicit ComponentDeclarer(ComponentDef& def) noexcept : def_(&def) {}

 private:
  friend class TopologyBuilder;
  friend class BoltDeclarer;
  ComponentDef* def_;  // owned by the builder
};

using SpoutDeclarer = ComponentDeclarer;

// Subscribes a bolt to streams. Every method defaults `stream` to "default" when it is omitted.
// Unknown components and streams, and undeclared fields, are reported by TopologyBuilder::build().
class GALE_API BoltDeclarer : public ComponentDeclarer {
 public:
  BoltDeclarer& shuffle_grouping(std::string component, std::string stream = default_stream);
  BoltDeclarer& fields_grouping(std::string component, Fields fields);
  BoltDeclarer& fields_grouping(std::string component, std::string stream, Fields fields);
  BoltDeclarer& all_grouping(std::string component, std::string stream = default_stream);
  BoltDeclarer& global_grouping(std::string component, std::string stream = default_stream);
  BoltDeclarer& none_grouping(std::string component, std::string stream = default_stream);
  BoltDeclarer& direct_grouping(std::string component, std::string stream = default_stream);
  BoltDeclarer& local_or_shuffle_grouping(std::string component,
                                          std::string stream = default_stream);
  BoltDeclarer& partial_key_grouping(std::string component, Fields fields);
  BoltDeclarer& partial_key_grouping(std::string component, std::string stream, Fields fields);
  BoltDeclarer& custom_grouping(std::string component, CustomGroupingFactory grouping);
  BoltDeclarer& custom_grouping(std::string component, std::string stream,
                                CustomGroupingFactory grouping);

  BoltDeclarer& set_num_tasks(int tasks) {
    ComponentDeclarer::set_num_tasks(tasks);
    return *this;
  }
  BoltDeclarer& add_configuration(std::string key, Value value) {
    ComponentDeclarer::add_configuration(std::move(key), std::move(value));
    return *this;
  }

 private:
  friend class TopologyBuilder;
  explicit BoltDeclarer(ComponentDef& def) noexcept : ComponentDeclarer(def) {}
  BoltDeclarer& subscribe(std::string component, std::string stream, Grouping grouping);
};

// Builds a topology: components, their parallelism, and how bolts subscribe to streams.
// Not thread-safe; use from one thread.
class GALE_API TopologyBuilder {
 public:
  TopologyBuilder();
  ~TopologyBuilder();
  TopologyBuilder(const TopologyBuilder&) = delete;
  TopologyBuilder& operator=(const TopologyBuilder&) = delete;

  // Adds a spout with `parallelism` executors. Throws TopologyError for an empty, reserved ("__")
  // or duplicate id, a null factory, or parallelism below 1.
  SpoutDeclarer& set_spout(std::string id, SpoutFactory factory, int parallelism = 1);
  // Adds a bolt; same errors as set_spout.
  BoltDeclarer& set_bolt(std::string id, BoltFactory factory, int parallelism = 1);

  // Validates and returns the topology. Creates one instance of every component to read its
  // declared outputs and component_config(). Throws TopologyError naming the culprit for: no spout,
  // a subscription to an unknown component or undeclared stream, a fields or partial-key grouping
  // on a field the stream does not declare (or on no field), a direct grouping on a non-direct
  // stream (or another grouping on a direct stream), a custom grouping without a factory, a factory
  // that returns null or throws, and an invalid component config. As in Storm, a component with
  // fewer tasks than its parallelism runs one executor per task. The builder is left unchanged.
  [[nodiscard]] Topology build() const;

 private:
  std::map<std::string, ComponentDef, std::less<>> components_;
  std::vector<std::unique_ptr<ComponentDeclarer>> declarers_;
};

}  // namespace gale
