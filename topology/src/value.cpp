#include <gale/value.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include <gale/errors.hpp>

namespace gale {

namespace {

// Hashing. fields grouping routes a tuple by hash(value) % tasks in whichever worker emitted it, so
// the hash must be a pure function of the value's type and content: no std::hash (which may differ
// between standard libraries and, for some types, between runs), no pointer values, and an explicit
// byte order. The round and the final avalanche are those of xxHash64, which mix every input bit
// into every output bit; the low bits (what `% tasks` looks at) are therefore as good as the high
// ones.
constexpr std::uint64_t k_prime1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t k_prime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t k_prime3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t k_seed = 0x27D4EB2F165667C5ULL;

class Hasher {
 public:
  void add(std::uint64_t word) noexcept {
    state_ += word * k_prime2;
    state_ = std::rotl(state_, 31);
    state_ *= k_prime1;
  }

  // The length goes in first so that the zero padding of the last word cannot make "a" and "a\0"
  // collide, and so that ["ab", "c"] and ["a", "bc"] differ.
  void add_bytes(const unsigned char* data, std::size_t size) noexcept {
    add(size);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) add(load_le(data + i, 8));
    if (i < size) add(load_le(data + i, size - i));
  }

  std::uint64_t finish() const noexcept {
    std::uint64_t h = state_;
    h ^= h >> 33;
    h *= k_prime2;
    h ^= h >> 29;
    h *= k_prime3;
    h ^= h >> 32;
    return h;
  }

 private:
  // Little-endian whatever the host, so that a big-endian worker routes like a little-endian one.
  static std::uint64_t load_le(const unsigned char* p, std::size_t n) noexcept {
    std::uint64_t word = 0;
    if constexpr (std::endian::native == std::endian::little) {
      // Fixed-size loads: a memcpy of a variable n would be a library call per word.
      if (n == 8) {
        std::memcpy(&word, p, 8);
      } else if (n >= 4) {
        // Two overlapping 4-byte loads; the overlap holds the same bytes in both.
        std::uint32_t low = 0, high = 0;
        std::memcpy(&low, p, 4);
        std::memcpy(&high, p + n - 4, 4);
        word = low | (std::uint64_t{high} << (8 * (n - 4)));
      } else if (n > 0) {
        word = std::uint64_t{p[0]} | (std::uint64_t{p[n / 2]} << (8 * (n / 2))) |
               (std::uint64_t{p[n - 1]} << (8 * (n - 1)));
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) word |= std::uint64_t{p[i]} << (8 * i);
    }
    return word;
  }

  std::uint64_t state_ = k_seed;
};

// Equal doubles must hash equal: 0.0 == -0.0, and NaN is treated as equal to itself (see
// operator==), so both are brought to one bit pattern first.
std::uint64_t double_bits(double d) noexcept {
  if (d == 0.0) d = 0.0;
  if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
  return std::bit_cast<std::uint64_t>(d);
}

void hash_string(Hasher& h, const std::string& s) noexcept {
  h.add_bytes(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

void append_quoted(std::string& out, const std::string& s) {
  static constexpr char k_hex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        // Other control characters would garble a log line; bytes >= 0x80 are UTF-8 and kept.
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += k_hex[(c >> 4) & 0xF];
          out += k_hex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "nan";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-inf" : "inf";
    return;
  }
  // Shortest text that reads back as the same double.
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out += text;
  // "1" would read as an integer; a double always shows that it is one.
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_value(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::null: out += "null"; break;
    case Value::Type::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Value::Type::integer: out += std::to_string(v.as_int()); break;
    case Value::Type::floating: append_double(out, v.as_double()); break;
    case Value::Type::string: append_quoted(out, v.as_string()); break;
    case Value::Type::bytes: {
      static constexpr char k_hex[] = "0123456789abcdef";
      out += "0x";
      for (std::uint8_t b : v.as_bytes()) {
        out += k_hex[b >> 4];
        out += k_hex[b & 0xF];
      }
      break;
    }
    case Value::Type::list: {
      out += '[';
      bool first = true;
      for (const Value& e : v.as_list()) {
        if (!first) out += ", ";
        first = false;
        append_value(out, e);
      }
      out += ']';
      break;
    }
    case Value::Type::map: {
      out += '{';
      bool first = true;
      for (const auto& [key, e] : v.as_map()) {
        if (!first) out += ", ";
        first = false;
        append_quoted(out, key);
        out += ": ";
        append_value(out, e);
      }
      out += '}';
      break;
    }
  }
}

[[noreturn]] void throw_type_error(Value::Type expected, Value::Type actual) {
  throw TypeError(std::string("expected ") + type_name(expected) + ", got " + type_name(actual));
}

}  // namespace

// Lists and maps are stored behind shared_ptr<const ...> so that copying a Value (into a tuple, a
// queue, another tuple) never copies a container: values are immutable, so sharing is safe.
Value::Value(List l) : v_(std::make_shared<const List>(std::move(l))) {}
Value::Value(Map m) : v_(std::make_shared<const Map>(std::move(m))) {}

bool Value::as_bool() const {
  if (const bool* b = std::get_if<bool>(&v_)) return *b;
  throw_type_error(Type::boolean, type());
}

std::int64_t Value::as_int() const {
  if (const std::int64_t* i = std::get_if<std::int64_t>(&v_)) return *i;
  throw_type_error(Type::integer, type());
}

double Value::as_double() const {
  if (const double* d = std::get_if<double>(&v_)) return *d;
  // Integers widen implicitly, as in most languages: a config or tuple field written as "2" is a
  // perfectly good 2.0.
  if (const std::int64_t* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
  throw_type_error(Type::floating, type());
}

const std::string& Value::as_string() const {
  if (const std::string* s = std::get_if<std::string>(&v_)) return *s;
  throw_type_error(Type::string, type());
}

const Bytes& Value::as_bytes() const {
  if (const Bytes* b = std::get_if<Bytes>(&v_)) return *b;
  throw_type_error(Type::bytes, type());
}

const List& Value::as_list() const {
  if (const auto* l = std::get_if<std::shared_ptr<const List>>(&v_)) return **l;
  throw_type_error(Type::list, type());
}

const Map& Value::as_map() const {
  if (const auto* m = std::get_if<std::shared_ptr<const Map>>(&v_)) return **m;
  throw_type_error(Type::map, type());
}

std::uint64_t Value::hash() const noexcept {
  Hasher h;
  // The type tag keeps int 1, double 1.0, true and "\x01" apart (they are different values).
  h.add(static_cast<std::uint64_t>(type()) + 1);
  switch (type()) {
    case Type::null: break;
    case Type::boolean: h.add(std::get<bool>(v_) ? 1 : 0); break;
    case Type::integer: h.add(static_cast<std::uint64_t>(std::get<std::int64_t>(v_))); break;
    case Type::floating: h.add(double_bits(std::get<double>(v_))); break;
    case Type::string: hash_string(h, std::get<std::string>(v_)); break;
    case Type::bytes: {
      const Bytes& b = std::get<Bytes>(v_);
      h.add_bytes(b.data(), b.size());
      break;
    }
    case Type::list: {
      const List& l = *std::get<std::shared_ptr<const List>>(v_);
      h.add(l.size());
      for (const Value& e : l) h.add(e.hash());
      break;
    }
    case Type::map: {
      // std::map iterates in key order, so equal maps feed the same sequence.
      const Map& m = *std::get<std::shared_ptr<const Map>>(v_);
      h.add(m.size());
      for (const auto& [key, e] : m) {
        hash_string(h, key);
        h.add(e.hash());
      }
      break;
    }
  }
  return h.finish();
}

std::string Value::to_string() const {
  std::string out;
  append_value(out, *this);
  return out;
}

bool operator==(const Value& a, const Value& b) noexcept {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::null: return true;
    case Value::Type::boolean: return std::get<bool>(a.v_) == std::get<bool>(b.v_);
    case Value::Type::integer: return std::get<std::int64_t>(a.v_) == std::get<std::int64_t>(b.v_);
    case Value::Type::floating: {
      // NaN equals NaN here, unlike IEEE: a Value is data (a message id, a map entry), and data
      // that is not equal to itself could never be acked or looked up.
      double x = std::get<double>(a.v_);
      double y = std::get<double>(b.v_);
      return x == y || (std::isnan(x) && std::isnan(y));
    }
    case Value::Type::string: return std::get<std::string>(a.v_) == std::get<std::string>(b.v_);
    case Value::Type::bytes: return std::get<Bytes>(a.v_) == std::get<Bytes>(b.v_);
    case Value::Type::list: {
      const auto& x = std::get<std::shared_ptr<const List>>(a.v_);
      const auto& y = std::get<std::shared_ptr<const List>>(b.v_);
      return x == y || *x == *y;  // shared storage is trivially equal
    }
    case Value::Type::map: {
      const auto& x = std::get<std::shared_ptr<const Map>>(a.v_);
      const auto& y = std::get<std::shared_ptr<const Map>>(b.v_);
      return x == y || *x == *y;
    }
  }
  return false;
}

const char* type_name(Value::Type t) noexcept {
  switch (t) {
    case Value::Type::null: return "null";
    case Value::Type::boolean: return "bool";
    case Value::Type::integer: return "int";
    case Value::Type::floating: return "double";
    case Value::Type::string: return "string";
    case Value::Type::bytes: return "bytes";
    case Value::Type::list: return "list";
    case Value::Type::map: return "map";
  }
  return "unknown";
}

}  // namespace gale
