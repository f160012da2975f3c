#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>
#include <gale/export.hpp>
#include <gale/value.hpp>

namespace gale {

// The configuration keys a component accepts: each key's type, default, range or allowed values,
// and whether it is required. A connector checks the Config it is given against its schema in its
// constructor, which runs when the topology is built, so a missing, misspelt or mistyped key fails
// the build with a message naming the component (added by the builder) and the key:
//   KafkaSpout: config key 'kafka.topics' is required (topics to read, comma-separated)
//   KafkaSpout: config key 'kafka.max.uncommitted.offsets' must be an integer in [1, 1000000],
//   got -3
//   KafkaSpout: unknown config key 'kafka.grup.id' (did you mean 'kafka.group.id'?)
// Keys in Gale's own namespaces (topology., nimbus., ...) are ignored, so a build function may
// pass the topology config through. Keys under a passthrough prefix (e.g. "kafka.consumer.", for
// the client library's own settings) are accepted as they are.
// Thread-safety: immutable once built; share as const.
class GALE_API ConfigSchema {
 public:
  enum class Kind { string, integer, floating, boolean, string_list, choice };

  struct Key {
    std::string name;
    Kind kind = Kind::string;
    bool required = false;
    Value fallback;                    // the default (null for a required key)
    std::int64_t min = 0, max = 0;     // integer range, inclusive (Kind::integer)
    double min_double = 0, max_double = 0;  // Kind::floating
    std::vector<std::string> choices;  // Kind::choice
    std::string doc;                   // one line: what the key means
  };

  // `owner` starts every message, e.g. "KafkaSpout".
  explicit ConfigSchema(std::string owner);

  ConfigSchema& required_string(std::string key, std::string doc);
  // A list of strings; the config may hold a List of strings or one comma-separated string.
  ConfigSchema& required_string_list(std::string key, std::string doc);
  ConfigSchema& string(std::string key, std::string fallback, std::string doc);
  ConfigSchema& string_list(std::string key, std::vector<std::string> fallback, std::string doc);
  ConfigSchema& integer(std::string key, std::int64_t fallback, std::int64_t min, std::int64_t max,
                        std::string doc);
  ConfigSchema& floating(std::string key, double fallback, double min, double max,
                         std::string doc);
  ConfigSchema& boolean(std::string key, bool fallback, std::string doc);
  // One of `choices` (a string); `fallback` must be one of them.
  ConfigSchema& choice(std::string key, std::string fallback, std::vector<std::string> choices,
                       std::string doc);
  // Keys starting with `prefix` pass unchecked (and are kept in the resolved config).
  ConfigSchema& passthrough(std::string prefix, std::string doc);

  // `given` checked and completed: every schema key present (defaults filled in, string lists
  // as Lists), passthrough keys kept, Gale's own keys dropped. Throws ConfigError on the first
  // problem: a required key missing, a value of the wrong type or out of range, an unknown key.
  [[nodiscard]] Config resolve(const Config& given) const;

  const std::string& owner() const noexcept { return owner_; }
  const std::vector<Key>& keys() const noexcept { return keys_; }
  const std::vector<std::pair<std::string, std::string>>& passthrough_prefixes() const noexcept {
    return prefixes_;
  }
  // The keys as a Markdown table (key, default, meaning), for the documentation.
  [[nodiscard]] std::string markdown_table() const;

 private:
  ConfigSchema& add(Key key);

  std::string owner_;
  std::vector<Key> keys_;
  std::vector<std::pair<std::string, std::string>> prefixes_;  // prefix, doc
};

// A resolved string list (see ConfigSchema::string_list) as strings.
[[nodiscard]] GALE_API std::vector<std::string> string_list(const Config& config,
                                                            std::string_view key);

}  // namespace gale
