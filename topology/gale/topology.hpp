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

// A spout or bolt of a built topology.
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
  const StreamDef* find_stream(std::string_view stream) const;
};

// A validated topology, produced by TopologyBuilder::build(). Components are sorted by id.
// A Topology loaded from a plugin keeps the plugin's library loaded for as long as any copy of it
// (or of its factories' products through the runtime) lives.
// Thread-safety: immutable; may be shared between threads.
class GALE_API Topology {
 public:
  Topology(std::vector<ComponentDef> components, std::shared_ptr<const void> library = nullptr);
  ~Topology();
  Topology(const Topology&);
  Topology(Topology&&) noexcept;
  Topology& operator=(const Topology&);
  Topology& operator=(Topology&&) noexcept;

  const std::vector<ComponentDef>& components() const noexcept { return components_; }
  // The component, or nullptr.
  const ComponentDef* find(std::string_view id) const noexcept;
  // The component; throws TopologyError naming it when unknown.
  const ComponentDef& component(std::string_view id) const;
  // The library handle the topology came from (nullptr when built in-process).
  const std::shared_ptr<const void>& library() const noexcept { return library_; }
  void set_library(std::shared_ptr<const void> library) { library_ = std::move(library); }

 private:
  // Declared first so that it is destroyed last: the factories' code lives in the library.
  std::shared_ptr<const void> library_;
  std::vector<ComponentDef> components_;
};

}  // namespace gale
