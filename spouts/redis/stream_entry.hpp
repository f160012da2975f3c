#pragma once

// Stream entries as the Redis Streams spout sees them: entry ids, the entries of an XREADGROUP or
// XAUTOCLAIM reply, and the mapping of entry fields to tuple fields. Internal to libgale_redis.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spouts/redis/redis_client.hpp"

namespace gale::spouts::redis {

// A stream entry id, "MS-SEQ", ordered as Redis orders them.
struct EntryId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  // nullopt when `text` is not MS-SEQ (or MS) with decimal numbers.
  [[nodiscard]] static std::optional<EntryId> parse(std::string_view text);
  [[nodiscard]] std::string text() const;
  friend auto operator<=>(const EntryId&, const EntryId&) = default;
};

struct StreamEntry {
  EntryId id;
  // Field-value pairs in the entry's order. Empty and `deleted` for an entry still pending in the
  // group whose content was deleted from the stream (XDEL, MAXLEN trimming).
  std::vector<std::pair<std::string, std::string>> fields;
  bool deleted = false;
};

// The entries of an XREADGROUP reply for one stream ([[stream, [[id, [f, v, ...]], ...]]], or nil
// when there is nothing new). Throws gale::Error naming the reply's problem when it has another
// shape.
[[nodiscard]] std::vector<StreamEntry> entries_of_read(const Reply& reply);
// The entries of an array of entries ([[id, [f, v, ...]], ...]), as in XRANGE and XAUTOCLAIM.
[[nodiscard]] std::vector<StreamEntry> entries_of(const Reply& entries);

// One entry field and the tuple field it becomes.
struct FieldMapping {
  std::string entry_field;
  std::string tuple_field;
};

// "sentence" (same name) or "entry_field:tuple_field" per item. Throws gale::ConfigError naming
// `owner`, `key` and the item when an item has an empty side or a tuple field repeats.
[[nodiscard]] std::vector<FieldMapping> parse_field_mappings(const std::vector<std::string>& items,
                                                             std::string_view owner,
                                                             std::string_view key);

}  // namespace gale::spouts::redis
