#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

  bool get_bool(std::size_t index) const { return get(index).as_bool(); }
  std::int64_t get_int(std::size_t index) const { return get(index).as_int(); }
  double get_double(std::size_t index) const { return get(index).as_double(); }
  const std::string& get_string(std::size_t index) const { return get(index).as_string(); }
  const Bytes& get_bytes(std::size_t index) const { return get(index).as_bytes(); }
  const List& get_list(std::size_t index) const { return get(index).as_list(); }
  const Map& get_map(std::size_t index) const { return get(index).as_map(); }

  bool get_bool(std::string_view field) const { return get(field).as_bool(); }
  std::int64_t get_int(std::string_view field) const { return get(field).as_int(); }
  double get_double(std::string_view field) const { return get(field).as_double(); }
  const std::string& get_string(std::string_view field) const { return get(field).as_string(); }
  const Bytes& get_bytes(std::string_view field) const { return get(field).as_bytes(); }
  const List& get_list(std::string_view field) const { return get(field).as_list(); }
  const Map& get_map(std::string_view field) const { return get(field).as_map(); }

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
  detail::TupleData* data_ = nullptr;
};

}  // namespace gale
