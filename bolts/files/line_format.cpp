#include "bolts/files/line_format.hpp"

#include <stdexcept>

namespace gale::bolts::files {
namespace {

void append_value(const Value& value, std::string& out) {
  switch (value.type()) {
    case Value::Type::null:
      break;
    case Value::Type::string:
      out += value.as_string();
      break;
    case Value::Type::bytes:
      out.append(value.as_bytes().begin(), value.as_bytes().end());
      break;
    default:
      out += value.to_string();
  }
}

}  // namespace

LineFormat LineFormat::from_template(const std::string& text) {
  LineFormat format;
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal += '}';
      ++i;
    } else if (c == '}') {
      throw std::invalid_argument("stray '}' at position " + std::to_string(i) + " (write '}}')");
    } else if (c == '{') {
      const std::size_t close = text.find('}', i + 1);
      if (close == std::string::npos) {
        throw std::invalid_argument("'{' at position " + std::to_string(i) + " is never closed");
      }
      if (close == i + 1) {
        throw std::invalid_argument("empty field name '{}' at position " + std::to_string(i));
      }
      format.parts_.push_back(std::move(literal));
      format.is_field_.push_back(false);
      literal.clear();
      format.parts_.push_back(text.substr(i + 1, close - i - 1));
      format.is_field_.push_back(true);
      i = close;
    } else {
      literal += c;
    }
  }
  format.parts_.push_back(std::move(literal));
  format.is_field_.push_back(false);
  return format;
}

LineFormat LineFormat::joined(std::vector<std::string> fields, std::string delimiter) {
  LineFormat format;
  format.all_fields_ = fields.empty();
  format.delimiter_ = std::move(delimiter);
  for (std::string& field : fields) {
    format.parts_.push_back(std::move(field));
    format.is_field_.push_back(true);
  }
  return format;
}

void LineFormat::append(const Tuple& tuple, std::string& out) const {
  const std::size_t start = out.size();
  if (all_fields_) {
    for (std::size_t i = 0; i < tuple.size(); ++i) {
      if (i > 0) out += delimiter_;
      append_value(tuple.get(i), out);
    }
  } else {
    bool first = true;
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      if (!is_field_[i]) {
        out += parts_[i];
        continue;
      }
      const auto index = tuple.fields().index_of(parts_[i]);
      if (!index) {
        out.resize(start);
        throw std::invalid_argument("tuple " + tuple.to_string() + " has no field '" + parts_[i] +
                                    "' (fields " + tuple.fields().to_string() + ")");
      }
      if (!first) out += delimiter_;  // empty in a template
      first = false;
      append_value(tuple.get(*index), out);
    }
  }
  out += '\n';
}

}  // namespace gale::bolts::files
