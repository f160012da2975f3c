#pragma once

// Internal: what a gale::Tuple handle points to. Shared by topology/ (Tuple's getters) and the
// runtime in worker/ (routing, acking, serialization). Never installed.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gale/fields.hpp>
#include <gale/tuple.hpp>
#include <gale/value.hpp>

namespace gale::detail {

// One declared stream of one component, resolved to integers once when the runtime starts so that
// the hot path never looks up names. Owned by the runtime's plan; outlives every tuple on it.
struct StreamMeta {
  std::string component;
  std::string stream;
  Fields fields;
  std::int32_t component_index = -1;  // position in Topology::components(); -1 for system streams
  std::int32_t stream_index = -1;     // position in the component's streams (ordered by name)
};

// The stream tick tuples are on: component "__system", stream "__tick", no fields.
const StreamMeta& tick_stream_meta();

// The tuple trees a tuple belongs to: for each spout tuple (root) the id of the edge that carries
// this tuple. Acking the tuple XORs the edge id (and the ids of its anchored children) into the root.
struct Anchor {
  std::uint64_t root;
  std::uint64_t edge;
  friend bool operator==(const Anchor&, const Anchor&) = default;
};

// Thread: built by the emitting executor, then owned by the receiving executor's thread.
struct TupleData {
  Values values;
  const StreamMeta* meta = nullptr;
  std::int32_t source_task = 0;
  std::vector<Anchor> anchors;  // empty when the tuple is not tracked
  // Receiving task only: XOR of the edge ids of the tuples emitted anchored to this one.
  std::uint64_t ack_val = 0;
  // Receiving task only: set once the tuple was acked or failed, so a second call is ignored.
  bool done = false;
};

struct TupleAccess {
  static Tuple wrap(std::shared_ptr<TupleData> data) noexcept { return Tuple(std::move(data)); }
  static TupleData* data(const Tuple& tuple) noexcept { return tuple.data_.get(); }
};

}  // namespace gale::detail
