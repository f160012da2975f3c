#pragma once

// Internal: the batch format's limits and message layouts (docs/wire-format.md), shared by the
// encoder and both decoders (encode.cpp, decode.cpp, fast_decode.cpp).

#include <cstddef>
#include <cstdint>

#include "topology/src/tuple_data.hpp"
#include "wire/message.hpp"

namespace gale::wire::layout {

// Elements of one array, or pairs of one map.
inline constexpr std::size_t k_max_container_size = std::size_t{1} << 24;
// Bytes of one string or bytes value.
inline constexpr std::size_t k_max_blob_size = std::size_t{1} << 28;

// Lists and maps may nest this deep inside a value.
inline constexpr std::size_t k_max_value_depth = 64;
inline constexpr const char* k_too_deep = "value nests deeper than the limit of 64 levels";
static_assert(k_max_value_depth == 64, "update k_too_deep");

// Number of fields of each message kind's array.
inline constexpr std::uint32_t k_tuple_fields = 7;
inline constexpr std::uint32_t k_tick_fields = 2;
inline constexpr std::uint32_t k_ack_fields = 5;
inline constexpr auto k_last_kind = wire::MessageKind::spout_fail;

// Tick tuples come from no task; the executors that make them locally use source task 0 too, so a
// decoded tick looks exactly like a local one.
inline constexpr std::int32_t k_tick_source_task = 0;

// Completes a decoded tick message: the receiver rebuilds its fixed stream and source.
inline void complete_tick(wire::Message& m) noexcept {
  m.meta = &detail::tick_stream_meta();
  m.source_task = k_tick_source_task;
}

}  // namespace gale::wire::layout
