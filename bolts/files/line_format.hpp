#pragma once

// How the file bolt turns a tuple into a line. Internal to libgale_files.

#include <string>
#include <vector>

#include <gale/tuple.hpp>

namespace gale::bolts::files {

// A line made of a tuple's fields: either a template whose "{name}" parts are replaced by the
// field's value ("{{" and "}}" are literal braces), or fields joined by a delimiter (all the
// tuple's fields when none are named). Strings and bytes are written as they are, other values
// as Value::to_string() renders them, null as nothing.
// Thread-safety: immutable after construction.
class LineFormat {
 public:
  // Throws std::invalid_argument describing the problem (an unclosed or empty "{}", a stray "}")
  // with its position in `text`.
  static LineFormat from_template(const std::string& text);
  static LineFormat joined(std::vector<std::string> fields, std::string delimiter);

  // Appends the line for `tuple` and a newline to `out`. Throws std::invalid_argument naming the
  // field and the tuple when the tuple lacks a field the format names; `out` is then unchanged.
  void append(const Tuple& tuple, std::string& out) const;

 private:
  // A template is literal text and fields in turn: parts_[i] is literal when is_field_[i] is false.
  std::vector<std::string> parts_;
  std::vector<bool> is_field_;
  bool all_fields_ = false;  // joined with no field named: every field of the tuple
  std::string delimiter_;
};

}  // namespace gale::bolts::files
