#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <gale/builder.hpp>
#include <gale/topology.hpp>

namespace gale::detail {

// The non-public way to make a Topology: TopologyBuilder::build() assembles the validated
// components, the plugin loader ties the plugin's library to them, and tests assemble topologies
// by hand. Plugin authors get topologies only from build(). Thread: any.
class TopologyAccess {
 public:
  // A topology of `components` as given, sorted by id. Throws TopologyError on a duplicate id; no
  // other validation (TopologyBuilder::build() is the validating path).
  [[nodiscard]] static Topology make(std::vector<ComponentDef> components,
                                     std::shared_ptr<const void> library = nullptr) {
    return Topology(std::move(components), std::move(library));
  }

  // builder.build(), with the topology keeping `library` (the plugin's library handle) loaded for
  // as long as a copy of it lives. Throws what build() throws.
  [[nodiscard]] static Topology build_with_library(const TopologyBuilder& builder,
                                                   std::shared_ptr<const void> library) {
    Topology built = builder.build();  // has no library: the builder never sets one
    return Topology(std::move(built.components_), std::move(library));
  }

  // The library handle a topology holds; null when it was built in this process.
  [[nodiscard]] static const std::shared_ptr<const void>& library(const Topology& topology) noexcept {
    return topology.library_;
  }
};

}  // namespace gale::detail
