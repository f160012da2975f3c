#pragma once

// The wire format of values, tuples and message batches (msgpack). Internal to the runtime; see
// docs/wire-format.md. Decoding never trusts its input: malformed bytes throw gale::Error with a
// message saying what was wrong, and never read out of bounds.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gale/export.hpp>
#include <gale/value.hpp>

#include "topology/src/tuple_data.hpp"
#include "wire/message.hpp"

namespace gale::wire {

// Version written at the start of every batch; a batch with another version is rejected.
inline constexpr std::uint8_t batch_format_version = 1;

// One value / a list of values as msgpack. Round trip preserves type and content exactly
// (int vs double, string vs bytes, nested lists and maps).
GALE_API std::string encode_values(const Values& values);
GALE_API Values decode_values(std::string_view bytes);

// Finds the stream a decoded tuple is on; returns nullptr for an unknown (component, stream) pair,
// which makes decode_batch throw.
using StreamResolver = std::function<const detail::StreamMeta*(std::int32_t component_index,
                                                               std::int32_t stream_index)>;

// A batch of messages (all kinds) for transfer between workers.
GALE_API std::string encode_batch(std::span<const wire::Message> messages);
// Appends the decoded messages to `out`. Throws gale::Error on malformed input, an unknown message
// kind or stream, or a format version mismatch; on throw, `out` holds none of the batch.
GALE_API void decode_batch(std::string_view bytes, const StreamResolver& resolve,
                           std::vector<wire::Message>& out);

// The two halves of decode_batch, exposed for tests that check they agree.
namespace detail_decode {
// The fast path (fast_decode.cpp): decodes a batch whose values are all scalars and
// returns true, or returns false with `out` as it was for anything else (lists or maps, malformed
// or unexpected input). Throws only what the resolver throws.
GALE_API bool decode_batch_fast(std::string_view bytes, const StreamResolver& resolve,
                                std::vector<wire::Message>& out);
// The generic decoder (decode.cpp): every valid batch; precise errors for the others.
GALE_API void decode_batch_generic(std::string_view bytes, const StreamResolver& resolve,
                                   std::vector<wire::Message>& out);
}  // namespace detail_decode

}  // namespace gale::wire
