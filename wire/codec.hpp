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

// A batch of messages (all kinds) for transfer between workers. Throws gale::Error when a message
// cannot be encoded (a value over a limit of the format, see docs/wire-format.md).
GALE_API std::string encode_batch(std::span<const wire::Message> messages);

// The hot path of a sender with a size limit: encodes `messages` as one batch into `out` (which is
// overwritten) and returns true when every message can be encoded and the batch takes at most
// `max_bytes`. Returns false otherwise, with `out` unspecified; encode_batch_split then says which
// messages are at fault. Stops encoding soon after passing `max_bytes`. Throws nothing but
// std::bad_alloc.
GALE_API bool encode_batch_within(std::span<const wire::Message> messages, std::size_t max_bytes,
                                  std::string& out);

// A message encode_batch_split left out.
struct Unencodable {
  std::size_t index = 0;  // in the messages given
  std::size_t bytes = 0;  // its encoded size; 0 when it cannot be encoded at all
  std::string reason;     // e.g. "it takes 2051 bytes encoded, over the limit of 1024 bytes per
                          // message", or why it cannot be encoded ("... string of N bytes
                          // exceeds the limit of 268435456 bytes")
};

// Encodes `messages` as consecutive batches of at most `max_bytes` each, appended to `batches`:
// the messages keep their order, and a batch ends where the next message would not fit. A message
// that fits in no batch (encoded alone it takes more than `max_bytes`) or cannot be encoded is left
// out and appended to `refused`. For the rare batch encode_batch_within refused: it measures each
// message before encoding it, so the work is about twice a plain encode.
GALE_API void encode_batch_split(std::span<const wire::Message> messages, std::size_t max_bytes,
                                 std::vector<std::string>& batches,
                                 std::vector<Unencodable>& refused);
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
