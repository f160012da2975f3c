#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <gale/export.hpp>
#include <gale/fields.hpp>
#include <gale/value.hpp>

namespace gale {

namespace detail {
struct TupleData;
struct TupleAccess;
}  // namespace detail

// A tuple received by a bolt: its values, the fields of its stream, and where it came from.
// A Tuple is a cheap handle (one pointer, reference counted); copies share the same tuple, so a
// bolt may keep one and ack it later (on the same task thread). Getters throw FieldError for a bad
// index or field name and TypeError for a value of another type. A default-constructed Tuple is
// empty and may only be compared.
class GALE_API Tuple {
 public:
  Tuple() noexcept;
  ~Tuple();
  Tuple(const Tuple&) noexcept;
  Tuple(Tuple&&) noexcept;
  Tuple& operator=(const Tuple&) noexcept;
  Tuple& operator=(Tuple&&) noexcept;

  std::size_t size() const noexcept;
  const Values& values() const noexcept;
  const Fields& fields() const noexcept;

  const Value& get(std::size_t index) const;
  const Value& get(std::string_view field) const;

  // Typed getters. On a value of another type they throw TypeError naming the field, its index and
  // the tuple's source, e.g. "field 'count' (index 1) of tuple from split:default: expected int,
  // got string". get_double() also accepts an integer and converts it (as Value::as_double()).
  // The type check is inline; only a mismatch leaves the header.
  bool get_bool(std::size_t index) const { return checked<bool>(get(index), Value::Type::boolean); }
  std::int64_t get_int(std::size_t index) const {
    return checked<std::int64_t>(get(index), Value::Type::integer);
  }
  double get_double(std::size_t index) const { return checked_double(get(index)); }
  const std::string& get_string(std::size_t index) const {
    return checked<std::string>(get(index), Value::Type::string);
  }
  const Bytes& get_bytes(std::size_t index) const {
    return checked<Bytes>(get(index), Value::Type::bytes);
  }
  const List& get_list(std::size_t index) const {
    return *checked<Value::ListPtr>(get(index), Value::Type::list);
  }
  const Map& get_map(std::size_t index) const {
    return *checked<Value::MapPtr>(get(index), Value::Type::map);
  }

  bool get_bool(std::string_view field) const {
    return checked<bool>(get(field), Value::Type::boolean);
  }
  std::int64_t get_int(std::string_view field) const {
    return checked<std::int64_t>(get(field), Value::Type::integer);
  }
  double get_double(std::string_view field) const { return checked_double(get(field)); }
  const std::string& get_string(std::string_view field) const {
    return checked<std::string>(get(field), Value::Type::string);
  }
  const Bytes& get_bytes(std::string_view field) const {
    return checked<Bytes>(get(field), Value::Type::bytes);
  }
  const List& get_list(std::string_view field) const {
    return *checked<Value::ListPtr>(get(field), Value::Type::list);
  }
  const Map& get_map(std::string_view field) const {
    return *checked<Value::MapPtr>(get(field), Value::Type::map);
  }

  // The component, stream and task that emitted this tuple.
  const std::string& source_component() const noexcept;
  const std::string& source_stream() const noexcept;
  std::int32_t source_task() const noexcept;

  // True for the tick tuples sent at topology.tick.tuple.freq.secs.
  bool is_tick() const noexcept;

  // "split:default:3 ["the", 1]" for logs and tests.
  std::string to_string() const;

  friend bool operator==(const Tuple& a, const Tuple& b) noexcept { return a.data_ == b.data_; }

 private:
  friend struct detail::TupleAccess;
  explicit Tuple(detail::TupleData* data) noexcept;  // takes over one reference

  // The content of `value` (one of this tuple's values) as alternative T of Value's variant.
  // REQUIRES: T is the alternative of Value's variant that holds `type`.
  template <class T>
  const T& checked(const Value& value, Value::Type type) const {
    const T* content = std::get_if<T>(&value.v_);
    if (content == nullptr) [[unlikely]] type_mismatch(value, type);
    return *content;
  }
  double checked_double(const Value& value) const {
    if (const double* d = std::get_if<double>(&value.v_)) [[likely]] return *d;
    // An integer widens, as in Value::as_double().
    if (const std::int64_t* i = std::get_if<std::int64_t>(&value.v_)) return static_cast<double>(*i);
    type_mismatch(value, Value::Type::floating);
  }
  // Throws the TypeError for `value`, one of this tuple's values, not being of type `expected`.
  [[noreturn]] void type_mismatch(const Value& value, Value::Type expected) const;

  detail::TupleData* data_ = nullptr;
};

}  // namespace gale
