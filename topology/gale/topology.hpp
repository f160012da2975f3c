#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gale/component.hpp>
#include <gale/config.hpp>
#include <gale/export.hpp>
#include <gale/grouping.hpp>
#include <gale/output_declarer.hpp>

namespace gale {

// One input of a bolt: a stream of a source component and how it is grouped.
struct Subscription {
  std::string component;
  std::string stream;
  Grouping grouping;
};

enum class ComponentKind { spout, bolt };

namespace detail {
class TopologyAccess;
}

// A spout or bolt of a built topology, as TopologyBuilder::build() validated it. A Topology hands
// out its components only as const references: nothing in the public API accepts a ComponentDef,
// so one can be read but never changed or injected into a topology.
struct GALE_API ComponentDef {
  std::string id;
  ComponentKind kind = ComponentKind::bolt;
  SpoutFactory spout;  // kind == spout
  BoltFactory bolt;    // kind == bolt
  int parallelism = 1;  // executors (threads)
  int num_tasks = 1;    // tasks, >= parallelism
  Config config;        // builder config merged over the component's component_config()
  std::map<std::string, StreamDef, std::less<>> streams;  // declared outputs
  std::vector<Subscription> inputs;                       // bolts only

  // The declared stream, or nullptr.
  [[nodiscard]] const StreamDef* find_stream(std::string_view stream) const;
};

// A validated topology, produced by TopologyBuilder::build() (or loaded from a plugin). Components
// are sorted by id. A Topology loaded from a plugin keeps the plugin's library loaded for as long
// as any copy of it lives; the runtime keeps its copy until every spout and bolt it created is
// destroyed.
// Thread-safety: immutable once built; may be shared between threads. Copies are independent
// values (assigning to one changes no other).
class GALE_API Topology {
 public:
  ~Topology();
  Topology(const Topology&);
  Topology(Topology&&) noexcept;
  Topology& operator=(const Topology&);
  Topology& operator=(Topology&&) noexcept;

  const std::vector<ComponentDef>& components() const noexcept { return components_; }
  // The component, or nullptr.
  [[nodiscard]] const ComponentDef* find(std::string_view id) const noexcept;
  // The component; throws TopologyError naming it when unknown.
  const ComponentDef& component(std::string_view id) const;

 private:
  // Only TopologyBuilder::build() and the plugin loader create topologies (through
  // detail::TopologyAccess). Sorts the components by id; throws TopologyError on a duplicate id.
  friend class detail::TopologyAccess;
  Topology(std::vector<ComponentDef> components, std::shared_ptr<const void> library);

  // Declared first so that it is destroyed last: the factories' code lives in the library.
  // Null when the topology was built in this process.
  std::shared_ptr<const void> library_;
  std::vector<ComponentDef> components_;
};

}  // namespace gale
