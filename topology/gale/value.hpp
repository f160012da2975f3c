#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gale/export.hpp>

namespace gale {

class Value;

// Raw bytes, kept distinct from text so that a round trip through msgpack preserves the kind.
using Bytes = std::vector<std::uint8_t>;
// An ordered list of values.
using List = std::vector<Value>;
// A map from string keys to values, ordered by key.
using Map = std::map<std::string, Value>;

// One value of a tuple: null, bool, 64-bit integer, double, string, bytes, list or map.
// Values are immutable once built; copying a list or map shares its storage.
// Accessors throw gale::TypeError naming the expected and the actual type on a mismatch.
// Thread-safety: a const Value may be read from any thread.
class GALE_API Value {
 public:
  enum class Type : std::uint8_t { null, boolean, integer, floating, string, bytes, list, map };

  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}
  Value(bool b) noexcept : v_(b) {}
  Value(int i) noexcept : v_(std::int64_t{i}) {}
  Value(long i) noexcept : v_(std::int64_t{i}) {}
  Value(long long i) noexcept : v_(std::int64_t{i}) {}
  Value(unsigned i) noexcept : v_(std::int64_t{i}) {}
  // Values above INT64_MAX wrap to negative integers (two's complement), as in Java's long.
  Value(unsigned long i) noexcept : v_(static_cast<std::int64_t>(i)) {}
  Value(unsigned long long i) noexcept : v_(static_cast<std::int64_t>(i)) {}
  Value(double d) noexcept : v_(d) {}
  Value(float d) noexcept : v_(double{d}) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) noexcept : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(Bytes b) noexcept : v_(std::move(b)) {}
  Value(List l);
  Value(Map m);

  Type type() const noexcept { return static_cast<Type>(v_.index()); }
  bool is_null() const noexcept { return type() == Type::null; }
  bool is_bool() const noexcept { return type() == Type::boolean; }
  bool is_int() const noexcept { return type() == Type::integer; }
  bool is_double() const noexcept { return type() == Type::floating; }
  bool is_string() const noexcept { return type() == Type::string; }
  bool is_bytes() const noexcept { return type() == Type::bytes; }
  bool is_list() const noexcept { return type() == Type::list; }
  bool is_map() const noexcept { return type() == Type::map; }

  // Typed accessors. Each throws TypeError if the value holds another type, except as_double(),
  // which also accepts an integer and converts it.
  bool as_bool() const;
  std::int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  const Bytes& as_bytes() const;
  const List& as_list() const;
  const Map& as_map() const;

  // A stable 64-bit hash of the value (type and content). It is identical in every process and on
  // every run, so fields grouping sends a key to the same task on every worker.
  std::uint64_t hash() const noexcept;

  // Human-readable rendering: strings quoted, lists as [a, b], maps as {k: v}, bytes as hex.
  std::string to_string() const;

  friend GALE_API bool operator==(const Value& a, const Value& b) noexcept;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Bytes,
               std::shared_ptr<const List>, std::shared_ptr<const Map>>
      v_;
};

// The name of a type as used in error messages: "null", "bool", "int", "double", "string", ...
GALE_API const char* type_name(Value::Type t) noexcept;

// The values of one tuple, in the order of the stream's declared fields.
using Values = std::vector<Value>;

// Identifies a spout message for ack/fail. Any value: typically an integer sequence number or a
// string key into the source.
using MessageId = Value;

}  // namespace gale
