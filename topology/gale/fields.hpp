#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/export.hpp>

namespace gale {

// The ordered field names of a stream, e.g. {"word", "count"}.
// Construction throws gale::FieldError on an empty or duplicate name.
// Thread-safety: immutable after construction; may be read from any thread.
class GALE_API Fields {
 public:
  Fields() = default;
  Fields(std::initializer_list<std::string> names);
  explicit Fields(std::vector<std::string> names);

  std::size_t size() const noexcept { return names_.size(); }
  bool empty() const noexcept { return names_.empty(); }
  const std::string& operator[](std::size_t i) const { return names_[i]; }
  const std::vector<std::string>& names() const noexcept { return names_; }
  auto begin() const noexcept { return names_.begin(); }
  auto end() const noexcept { return names_.end(); }

  // Position of a field, or nullopt when absent.
  [[nodiscard]] std::optional<std::size_t> index_of(std::string_view name) const noexcept;
  // Position of a field. Throws FieldError naming the field and the declared fields when absent.
  std::size_t index(std::string_view name) const;
  bool contains(std::string_view name) const noexcept { return index_of(name).has_value(); }

  // "[word, count]"
  std::string to_string() const;

  friend bool operator==(const Fields& a, const Fields& b) noexcept { return a.names_ == b.names_; }

 private:
  std::vector<std::string> names_;
};

}  // namespace gale
