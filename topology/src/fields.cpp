#include <gale/fields.hpp>

#include <gale/errors.hpp>

namespace gale {

namespace {

std::string render(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  out += ']';
  return out;
}

// Rejected at declaration time, so that a fields grouping or a by-name getter can never be
// ambiguous later. Streams have a handful of fields: the quadratic scan beats building a set.
void check_names(const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      throw FieldError("empty field name at position " + std::to_string(i) + " in " +
                       render(names));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (names[j] == names[i]) {
        throw FieldError("duplicate field '" + names[i] + "' in " + render(names));
      }
    }
  }
}

}  // namespace

Fields::Fields(std::initializer_list<std::string> names) : names_(names) { check_names(names_); }

Fields::Fields(std::vector<std::string> names) : names_(std::move(names)) { check_names(names_); }

std::optional<std::size_t> Fields::index_of(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  return std::nullopt;
}

std::size_t Fields::index(std::string_view name) const {
  if (auto i = index_of(name)) return *i;
  throw FieldError("no field '" + std::string(name) + "' in " + to_string());
}

std::string Fields::to_string() const { return render(names_); }

}  // namespace gale
