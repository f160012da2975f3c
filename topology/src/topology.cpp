#include <algorithm>
#include <gale/errors.hpp>
#include <gale/export.hpp>
#include <gale/topology.hpp>
#include <string>
#include <utility>

namespace gale {

const StreamDef* ComponentDef::find_stream(std::string_view stream) const {
  auto it = streams.find(stream);
  return it == streams.end() ? nullptr : &it->second;
}

Topology::Topology(std::vector<ComponentDef> components, std::shared_ptr<const void> library)
    : library_(std::move(library)), components_(std::move(components)) {
  // The builder already sorts, but a Topology can be assembled by hand (tests, tools): enforcing
  // the order here keeps TaskLayout's ids and find()'s binary search right for every Topology.
  std::stable_sort(components_.begin(), components_.end(),
                   [](const ComponentDef& a, const ComponentDef& b) { return a.id < b.id; });
  auto dup =
      std::adjacent_find(components_.begin(), components_.end(),
                         [](const ComponentDef& a, const ComponentDef& b) { return a.id == b.id; });
  if (dup != components_.end()) throw TopologyError("duplicate component id '" + dup->id + "'");
}

Topology::~Topology() = default;  // components_ first, then library_ (declaration order)
Topology::Topology(const Topology&) = default;
Topology::Topology(Topology&&) noexcept = default;

// The defaulted assignments would assign library_ first: replacing the last reference to the old
// library unloads it while the old components_ (factories whose code lives in that library) are
// still alive, and destroying them afterwards would jump into unmapped code. Building the new
// state aside and swapping lets the old state die as a whole, components before library.
Topology& Topology::operator=(const Topology& other) {
  if (this != &other) {
    Topology copy(other);
    std::swap(library_, copy.library_);
    std::swap(components_, copy.components_);
  }
  return *this;
}

Topology& Topology::operator=(Topology&& other) noexcept {
  if (this != &other) {
    Topology moved(std::move(other));
    std::swap(library_, moved.library_);
    std::swap(components_, moved.components_);
  }
  return *this;
}

const ComponentDef* Topology::find(std::string_view id) const noexcept {
  auto it = std::lower_bound(components_.begin(), components_.end(), id,
                             [](const ComponentDef& c, std::string_view v) { return c.id < v; });
  return it != components_.end() && it->id == id ? &*it : nullptr;
}

const ComponentDef& Topology::component(std::string_view id) const {
  if (const ComponentDef* def = find(id)) return *def;
  throw TopologyError("unknown component '" + std::string(id) + "'");
}

}  // namespace gale
