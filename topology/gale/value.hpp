#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <gale/export.hpp>

namespace gale {

class Tuple;
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
  // Strings are built in place in the variant: no temporary to move (a copy for short strings).
  Value(const char* s) : v_(std::in_place_type<std::string>, s) {}
  Value(std::string s) noexcept : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::in_place_type<std::string>, s) {}
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
  // Tuple's typed getters read the content inline after their own type check, so that a mismatch
  // can name the tuple's field (Tuple::type_mismatch).
  friend class Tuple;
  using ListPtr = std::shared_ptr<const List>;
  using MapPtr = std::shared_ptr<const Map>;

  std::variant<std::monostate, bool, std::int64_t, double, std::string, Bytes, ListPtr, MapPtr> v_;
};

// The name of a type as used in error messages: "null", "bool", "int", "double", "string", ...
GALE_API const char* type_name(Value::Type t) noexcept;

namespace detail {

// One element of a braced list of values, e.g. each of "the" and 1 in emit({"the", 1}): the Value
// is built once, in the list, and Values then moves it out (the member is mutable because a list's
// elements are const), where a std::initializer_list<Value> could only be copied.
struct ValueArg {
  template <class T>
    requires std::is_constructible_v<Value, T&&>
  ValueArg(T&& v) : value(std::forward<T>(v)) {}  // NOLINT: implicit, as a braced element
  mutable Value value;
};

}  // namespace detail

// The values of one tuple, in the order of the stream's declared fields. A vector of Value that
// keeps up to `inline_capacity` values inside itself, so that emitting a typical tuple allocates
// no memory; it has the parts of std::vector's interface tuples need, with the same rules (at()
// throws std::out_of_range; operator[] is unchecked; thread-safety as for std::vector).
class Values {
 public:
  using value_type = Value;
  using size_type = std::size_t;
  using iterator = Value*;
  using const_iterator = const Value*;
  using reference = Value&;
  using const_reference = const Value&;
  static constexpr std::size_t inline_capacity = 3;

  Values() noexcept = default;
  // Values{"the", 1}: each value is built in place, never copied.
  Values(std::initializer_list<detail::ValueArg> values) { take_all(values); }
  explicit Values(std::size_t n) {
    reserve(n);
    for (std::size_t i = 0; i < n; ++i) emplace_back();
  }
  template <class It>
    requires(!std::is_integral_v<It>)
  Values(It first, It last) {
    assign(first, last);
  }
  // From a List (std::vector<Value>), and back with to_list().
  explicit Values(const List& list) { assign(list.begin(), list.end()); }
  List to_list() const { return List(begin(), end()); }

  Values(const Values& other) { assign(other.begin(), other.end()); }
  Values(Values&& other) noexcept { take(other); }
  Values& operator=(const Values& other) {
    if (this != &other) {
      clear();
      assign(other.begin(), other.end());
    }
    return *this;
  }
  Values& operator=(Values&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  Values& operator=(std::initializer_list<detail::ValueArg> values) {
    clear();
    take_all(values);
    return *this;
  }
  ~Values() { release(); }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return heap_ ? capacity_ : inline_capacity; }
  Value* data() noexcept { return heap_ ? heap_ : inline_data(); }
  const Value* data() const noexcept { return heap_ ? heap_ : inline_data(); }
  Value* begin() noexcept { return data(); }
  Value* end() noexcept { return data() + size_; }
  const Value* begin() const noexcept { return data(); }
  const Value* end() const noexcept { return data() + size_; }
  const Value* cbegin() const noexcept { return begin(); }
  const Value* cend() const noexcept { return end(); }
  Value& operator[](std::size_t i) noexcept { return data()[i]; }
  const Value& operator[](std::size_t i) const noexcept { return data()[i]; }
  Value& at(std::size_t i) {
    if (i >= size_) throw std::out_of_range("gale::Values::at: index out of range");
    return data()[i];
  }
  const Value& at(std::size_t i) const {
    if (i >= size_) throw std::out_of_range("gale::Values::at: index out of range");
    return data()[i];
  }
  Value& front() noexcept { return data()[0]; }
  const Value& front() const noexcept { return data()[0]; }
  Value& back() noexcept { return data()[size_ - 1]; }
  const Value& back() const noexcept { return data()[size_ - 1]; }

  void push_back(const Value& v) { emplace_back(v); }
  void push_back(Value&& v) { emplace_back(std::move(v)); }
  template <class... Args>
  Value& emplace_back(Args&&... args) {
    if (size_ == capacity()) {
      // Built before growing: args may refer to an element of this very vector.
      Value v(std::forward<Args>(args)...);
      grow(size_ * 2);
      return *::new (static_cast<void*>(data() + size_++)) Value(std::move(v));
    }
    return *::new (static_cast<void*>(data() + size_++)) Value(std::forward<Args>(args)...);
  }
  void pop_back() noexcept { data()[--size_].~Value(); }
  void reserve(std::size_t n) {
    if (n > capacity()) grow(n);
  }
  void resize(std::size_t n) {
    while (size_ > n) pop_back();
    reserve(n);
    while (size_ < n) emplace_back();
  }
  void clear() noexcept {
    Value* d = data();
    for (std::size_t i = 0; i < size_; ++i) d[i].~Value();
    size_ = 0;
  }

  friend bool operator==(const Values& a, const Values& b) noexcept {
    if (a.size_ != b.size_) return false;
    for (std::size_t i = 0; i < a.size_; ++i) {
      if (!(a[i] == b[i])) return false;
    }
    return true;
  }

 private:
  Value* inline_data() noexcept { return std::launder(reinterpret_cast<Value*>(inline_)); }
  const Value* inline_data() const noexcept {
    return std::launder(reinterpret_cast<const Value*>(inline_));
  }
  template <class It>
  void assign(It first, It last) {
    if constexpr (std::is_base_of_v<std::forward_iterator_tag,
                                    typename std::iterator_traits<It>::iterator_category>) {
      reserve(size_ + static_cast<std::size_t>(std::distance(first, last)));
    }
    for (; first != last; ++first) emplace_back(*first);
  }
  void take_all(std::initializer_list<detail::ValueArg> values) {
    reserve(values.size());
    for (const detail::ValueArg& v : values) emplace_back(std::move(v.value));
  }
  // Moves the elements to heap storage for n values (n > inline_capacity).
  void grow(std::size_t n) {
    if (n < inline_capacity * 2) n = inline_capacity * 2;
    Value* fresh = std::allocator<Value>().allocate(n);
    Value* old = data();
    for (std::size_t i = 0; i < size_; ++i) {
      ::new (static_cast<void*>(fresh + i)) Value(std::move(old[i]));
      old[i].~Value();
    }
    if (heap_) std::allocator<Value>().deallocate(heap_, capacity_);
    heap_ = fresh;
    capacity_ = n;
  }
  void take(Values& other) noexcept {
    if (other.heap_) {
      heap_ = other.heap_;
      capacity_ = other.capacity_;
      size_ = other.size_;
      other.heap_ = nullptr;
      other.capacity_ = 0;
      other.size_ = 0;
      return;
    }
    Value* from = other.inline_data();
    Value* to = inline_data();
    for (std::size_t i = 0; i < other.size_; ++i) {
      ::new (static_cast<void*>(to + i)) Value(std::move(from[i]));
      from[i].~Value();
    }
    size_ = other.size_;
    other.size_ = 0;
  }
  void release() noexcept {
    clear();
    if (heap_) std::allocator<Value>().deallocate(heap_, capacity_);
    heap_ = nullptr;
    capacity_ = 0;
  }

  Value* heap_ = nullptr;        // the elements once they outgrew the inline storage
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;     // of heap_
  alignas(Value) unsigned char inline_[inline_capacity * sizeof(Value)];
};

// Identifies a spout message for ack/fail. Any value: typically an integer sequence number or a
// string key into the source.
using MessageId = Value;

}  // namespace gale
