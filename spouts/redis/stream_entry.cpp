#include "spouts/redis/stream_entry.hpp"

#include <charconv>
#include <set>

#include <gale/errors.hpp>

namespace gale::spouts::redis {

namespace {

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

[[noreturn]] void malformed(std::string_view what) {
  throw Error("unexpected reply from redis: " + std::string(what));
}

}  // namespace

std::optional<EntryId> EntryId::parse(std::string_view text) {
  const std::size_t dash = text.find('-');
  const std::optional<std::uint64_t> ms = parse_number(text.substr(0, dash));
  if (!ms) return std::nullopt;
  if (dash == std::string_view::npos) return EntryId{*ms, 0};
  const std::optional<std::uint64_t> seq = parse_number(text.substr(dash + 1));
  if (!seq) return std::nullopt;
  return EntryId{*ms, *seq};
}

std::string EntryId::text() const { return std::to_string(ms) + "-" + std::to_string(seq); }

std::vector<StreamEntry> entries_of(const Reply& entries) {
  if (entries.kind != Reply::Kind::array) malformed("a list of stream entries is not an array");
  std::vector<StreamEntry> out;
  out.reserve(entries.elements.size());
  for (const Reply& e : entries.elements) {
    if (e.is_nil()) continue;  // XCLAIM's way of saying "deleted" in older servers
    if (e.kind != Reply::Kind::array || e.elements.size() != 2) {
      malformed("a stream entry is not [id, fields]");
    }
    const std::optional<EntryId> id = EntryId::parse(e.elements[0].text);
    if (!id) malformed("stream entry id '" + e.elements[0].text + "'");
    StreamEntry entry{*id, {}, false};
    const Reply& fields = e.elements[1];
    if (fields.is_nil()) {
      entry.deleted = true;
    } else {
      if (fields.kind != Reply::Kind::array || fields.elements.size() % 2 != 0) {
        malformed("the fields of stream entry " + id->text() + " are not field-value pairs");
      }
      for (std::size_t i = 0; i < fields.elements.size(); i += 2) {
        entry.fields.emplace_back(fields.elements[i].text, fields.elements[i + 1].text);
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<StreamEntry> entries_of_read(const Reply& reply) {
  if (reply.is_nil()) return {};
  if (reply.kind != Reply::Kind::array) malformed("XREADGROUP did not answer an array");
  std::vector<StreamEntry> out;
  for (const Reply& stream : reply.elements) {
    if (stream.kind != Reply::Kind::array || stream.elements.size() != 2) {
      malformed("XREADGROUP's stream is not [name, entries]");
    }
    std::vector<StreamEntry> entries = entries_of(stream.elements[1]);
    out.insert(out.end(), std::make_move_iterator(entries.begin()),
               std::make_move_iterator(entries.end()));
  }
  return out;
}

std::vector<FieldMapping> parse_field_mappings(const std::vector<std::string>& items,
                                               std::string_view owner, std::string_view key) {
  std::vector<FieldMapping> out;
  std::set<std::string> tuple_fields;
  for (const std::string& item : items) {
    const std::size_t colon = item.find(':');
    FieldMapping m{item.substr(0, colon),
                   colon == std::string::npos ? item : item.substr(colon + 1)};
    if (m.entry_field.empty() || m.tuple_field.empty()) {
      throw ConfigError(std::string(owner) + ": config key '" + std::string(key) + "': '" + item +
                        "' must be ENTRY_FIELD or ENTRY_FIELD:TUPLE_FIELD");
    }
    if (!tuple_fields.insert(m.tuple_field).second) {
      throw ConfigError(std::string(owner) + ": config key '" + std::string(key) +
                        "': tuple field '" + m.tuple_field + "' appears twice");
    }
    out.push_back(std::move(m));
  }
  if (out.empty()) {
    throw ConfigError(std::string(owner) + ": config key '" + std::string(key) +
                      "' names no field");
  }
  return out;
}

}  // namespace gale::spouts::redis
