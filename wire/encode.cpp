#include "wire/codec.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <exception>
#include <limits>
#include <string>

#include <gale/errors.hpp>

#include "wire/layout.hpp"

// Encoding of values and batches (layout: docs/wire-format.md). The decoders are decode.cpp and
// fast_decode.cpp.

namespace gale::wire {

namespace {

using wire::Message;
using wire::MessageKind;
using namespace layout;  // limits and field counts shared with the decoders

// Writes msgpack straight into the result string, in the shortest form for each item (the forms
// msgpack-c's packer picks, so the bytes are the same). Each item is a bounds check and a few
// fixed-size stores; only string and bytes bodies are copied with memcpy. The string grows
// geometrically and is trimmed at the end. msgpack::packer over a sink did the same work through a
// variable-size write per item, which profiled at about a third of encoding.
class Packer {
 public:
  // Thrown by a Packer with a limit once it has written more than the limit.
  struct OverLimit {};

  // `out` is overwritten; `size_hint` is the expected encoded size. With a `limit`, the packer
  // throws OverLimit when the buffer must grow after more than `limit` bytes were written, and
  // grows it no further than the limit needs: encoding an oversized batch stops early, with
  // memory bounded by about twice the limit, instead of building all of it. Checked only when
  // the buffer grows; the caller compares the final size.
  Packer(std::string& out, std::size_t size_hint,
         std::size_t limit = std::numeric_limits<std::size_t>::max())
      : out_(out), limit_(limit) {
    reserve(size_hint);
  }
  Packer(const Packer&) = delete;
  Packer& operator=(const Packer&) = delete;

  void pack_nil() { byte(0xc0); }
  void pack_true() { byte(0xc3); }
  void pack_false() { byte(0xc2); }
  void pack_uint8(std::uint8_t v) { pack_uint64(v); }
  void pack_int32(std::int32_t v) { pack_int64(v); }
  void pack_uint64(std::uint64_t v) {
    char* p = room(9);
    if (v < 0x80) {
      p[0] = static_cast<char>(v);
      size_ += 1;
    } else if (v <= 0xff) {
      p[0] = static_cast<char>(0xcc);
      p[1] = static_cast<char>(v);
      size_ += 2;
    } else if (v <= 0xffff) {
      p[0] = static_cast<char>(0xcd);
      store_be(p + 1, static_cast<std::uint16_t>(v));
      size_ += 3;
    } else if (v <= 0xffffffffu) {
      p[0] = static_cast<char>(0xce);
      store_be(p + 1, static_cast<std::uint32_t>(v));
      size_ += 5;
    } else {
      p[0] = static_cast<char>(0xcf);
      store_be(p + 1, v);
      size_ += 9;
    }
  }
  void pack_int64(std::int64_t v) {
    if (v >= 0) {
      pack_uint64(static_cast<std::uint64_t>(v));
      return;
    }
    char* p = room(9);
    if (v >= -32) {
      p[0] = static_cast<char>(v);  // negative fixint
      size_ += 1;
    } else if (v >= -0x80) {
      p[0] = static_cast<char>(0xd0);
      p[1] = static_cast<char>(v);
      size_ += 2;
    } else if (v >= -0x8000) {
      p[0] = static_cast<char>(0xd1);
      store_be(p + 1, static_cast<std::uint16_t>(v));
      size_ += 3;
    } else if (v >= -0x80000000LL) {
      p[0] = static_cast<char>(0xd2);
      store_be(p + 1, static_cast<std::uint32_t>(v));
      size_ += 5;
    } else {
      p[0] = static_cast<char>(0xd3);
      store_be(p + 1, static_cast<std::uint64_t>(v));
      size_ += 9;
    }
  }
  // Always float64 (0xcb): msgpack-c 4's pack_double writes integral doubles (1.0) as integers,
  // which would come back as int, a different Value.
  void pack_float64(double d) {
    char* p = room(9);
    p[0] = static_cast<char>(0xcb);
    store_be(p + 1, std::bit_cast<std::uint64_t>(d));
    size_ += 9;
  }
  void pack_array(std::uint32_t n) { header(n, 0x90, 16, 0xdc, 0xdd); }
  void pack_map(std::uint32_t n) { header(n, 0x80, 16, 0xde, 0xdf); }
  void pack_str(std::uint32_t n) {
    char* p = room(5);
    if (n < 32) {
      p[0] = static_cast<char>(0xa0 | n);
      size_ += 1;
    } else if (n <= 0xff) {
      p[0] = static_cast<char>(0xd9);
      p[1] = static_cast<char>(n);
      size_ += 2;
    } else {
      sized(p, n, 0xda, 0xdb);
    }
  }
  void pack_bin(std::uint32_t n) {
    char* p = room(5);
    if (n <= 0xff) {
      p[0] = static_cast<char>(0xc4);
      p[1] = static_cast<char>(n);
      size_ += 2;
    } else {
      sized(p, n, 0xc5, 0xc6);
    }
  }
  // The body of a string or bytes value, after its header.
  void pack_body(const char* data, std::size_t n) {
    if (n == 0) return;  // memcpy from the nullptr of an empty Bytes is undefined
    std::memcpy(room(n), data, n);
    size_ += n;
  }

  // Drops the unused tail. Call once, after the last item.
  void finish() { out_.resize(size_); }

 private:
  // A pointer to at least `n` writable bytes at the end.
  [[gnu::always_inline]] char* room(std::size_t n) {
    if (capacity_ - size_ < n) [[unlikely]]
      grow(n);
    return buffer_ + size_;
  }
  void byte(std::uint8_t b) {
    *room(1) = static_cast<char>(b);
    size_ += 1;
  }
  template <class T>
  static void store_be(char* p, T v) {
    if constexpr (std::endian::native == std::endian::little) {
      if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(v));
      if constexpr (sizeof(T) == 4) v = static_cast<T>(__builtin_bswap32(v));
      if constexpr (sizeof(T) == 8) v = static_cast<T>(__builtin_bswap64(v));
    }
    std::memcpy(p, &v, sizeof(T));
  }
  // A 16- or 32-bit length after its marker (header in `p`, which has room for 5 bytes).
  void sized(char* p, std::uint32_t n, std::uint8_t marker16, std::uint8_t marker32) {
    if (n <= 0xffff) {
      p[0] = static_cast<char>(marker16);
      store_be(p + 1, static_cast<std::uint16_t>(n));
      size_ += 3;
    } else {
      p[0] = static_cast<char>(marker32);
      store_be(p + 1, n);
      size_ += 5;
    }
  }
  void header(std::uint32_t n, std::uint8_t fix, std::uint32_t fix_limit, std::uint8_t marker16,
              std::uint8_t marker32) {
    char* p = room(5);
    if (n < fix_limit) {
      p[0] = static_cast<char>(fix | n);
      size_ += 1;
    } else {
      sized(p, n, marker16, marker32);
    }
  }
  [[gnu::noinline]] void grow(std::size_t n) {
    // Over the limit already, or will be once `n` more bytes are written (a header asks for up to
    // 9 bytes and may use fewer; a body uses all it asks for).
    if (size_ > limit_ || (n > 9 && n - 9 > limit_ - size_)) throw OverLimit{};
    // Doubling, but not far past the limit (the final size is compared by the caller).
    std::size_t doubled = capacity_ * 2;
    if (limit_ < std::numeric_limits<std::size_t>::max() / 2) {
      doubled = std::min(doubled, limit_ + 64);
    }
    reserve(std::max(doubled, size_ + n + 64));
  }
  [[gnu::noinline]] void reserve(std::size_t capacity) {
    out_.resize(capacity);
    buffer_ = out_.data();
    capacity_ = capacity;
  }

  std::string& out_;
  const std::size_t limit_;
  // out_'s bytes, cached so that the hot path does not reload them through the reference.
  char* buffer_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;  // bytes written so far
};

// Packer's interface, writing nothing: counts the bytes Packer would write for the same calls,
// i.e. the exact encoded size. Used only when a batch must be split (encode_batch_split).
class SizeCounter {
 public:
  void pack_nil() { size_ += 1; }
  void pack_true() { size_ += 1; }
  void pack_false() { size_ += 1; }
  void pack_uint8(std::uint8_t v) { pack_uint64(v); }
  void pack_int32(std::int32_t v) { pack_int64(v); }
  void pack_uint64(std::uint64_t v) {
    size_ += v < 0x80 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
  }
  void pack_int64(std::int64_t v) {
    if (v >= 0) {
      pack_uint64(static_cast<std::uint64_t>(v));
      return;
    }
    size_ += v >= -32 ? 1 : v >= -0x80 ? 2 : v >= -0x8000 ? 3 : v >= -0x80000000LL ? 5 : 9;
  }
  void pack_float64(double) { size_ += 9; }
  void pack_array(std::uint32_t n) { size_ += container_header_size(n); }
  void pack_map(std::uint32_t n) { size_ += container_header_size(n); }
  void pack_str(std::uint32_t n) { size_ += n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5; }
  void pack_bin(std::uint32_t n) { size_ += n <= 0xff ? 2 : n <= 0xffff ? 3 : 5; }
  void pack_body(const char*, std::size_t n) { size_ += n; }

  std::size_t size() const noexcept { return size_; }
  static std::size_t container_header_size(std::size_t n) { return n < 16 ? 1 : n <= 0xffff ? 3 : 5; }

 private:
  std::size_t size_ = 0;
};

// The batch's own bytes around `count` messages: [version, [...]].
std::size_t batch_header_size(std::size_t count) {
  return 2 + SizeCounter::container_header_size(count);
}

// What a value adds to the encoded size, roughly: used only to reserve the buffer once.
constexpr std::size_t k_bytes_per_value_guess = 12;

[[noreturn]] void throw_encode(const std::string& what) {
  throw Error("cannot encode for the wire: " + what);
}

// `unit`: "bytes" or "elements".
void check_size(std::size_t size, std::size_t limit, const char* what, const char* unit) {
  // The decoder would reject it; failing here names the culprit at the sender instead.
  if (size > limit) {
    throw_encode(std::string(what) + " of " + std::to_string(size) + " " + unit +
                 " exceeds the limit of " + std::to_string(limit) + " " + unit);
  }
}

// The pack_* functions write through a Packer (encoding) or a SizeCounter (measuring): the same
// traversal and the same checks either way.
template <class P>
void pack_string(P& pk, const std::string& s) {
  check_size(s.size(), k_max_blob_size, "string", "bytes");
  const auto size = static_cast<std::uint32_t>(s.size());
  pk.pack_str(size);
  pk.pack_body(s.data(), size);
}

// `depth_left`: how many more list/map levels may open here.
template <class P>
void pack_value(P& pk, const Value& v, std::size_t depth_left) {
  switch (v.type()) {
    case Value::Type::null:
      pk.pack_nil();
      break;
    case Value::Type::boolean:
      v.as_bool() ? pk.pack_true() : pk.pack_false();
      break;
    // pack_int64 picks the shortest msgpack integer form (1 byte for 0..127).
    case Value::Type::integer:
      pk.pack_int64(v.as_int());
      break;
    // Always float64: float32 would lose precision, and the type must survive the round trip.
    case Value::Type::floating:
      pk.pack_float64(v.as_double());
      break;
    case Value::Type::string:
      pack_string(pk, v.as_string());
      break;
    case Value::Type::bytes: {
      const Bytes& b = v.as_bytes();
      check_size(b.size(), k_max_blob_size, "bytes value", "bytes");
      const auto size = static_cast<std::uint32_t>(b.size());
      pk.pack_bin(size);
      pk.pack_body(reinterpret_cast<const char*>(b.data()), size);
      break;
    }
    case Value::Type::list: {
      if (depth_left == 0) throw_encode(k_too_deep);
      const List& l = v.as_list();
      check_size(l.size(), k_max_container_size, "list", "elements");
      pk.pack_array(static_cast<std::uint32_t>(l.size()));
      for (const Value& e : l) pack_value(pk, e, depth_left - 1);
      break;
    }
    case Value::Type::map: {
      if (depth_left == 0) throw_encode(k_too_deep);
      const Map& m = v.as_map();
      check_size(m.size(), k_max_container_size, "map", "elements");
      pk.pack_map(static_cast<std::uint32_t>(m.size()));
      for (const auto& [key, e] : m) {
        pack_string(pk, key);
        pack_value(pk, e, depth_left - 1);
      }
      break;
    }
  }
}

template <class P>
void pack_values(P& pk, const Values& values) {
  check_size(values.size(), k_max_container_size, "tuple", "elements");
  pk.pack_array(static_cast<std::uint32_t>(values.size()));
  for (const Value& v : values) pack_value(pk, v, k_max_value_depth);
}

template <class P>
void pack_message(P& pk, const Message& m, std::size_t index) {
  const auto kind = static_cast<std::uint8_t>(m.kind);
  switch (m.kind) {
    case MessageKind::tuple: {
      if (m.meta == nullptr) {
        throw_encode("message " + std::to_string(index) + " is a tuple message without a stream");
      }
      pk.pack_array(k_tuple_fields);
      pk.pack_uint8(kind);
      pk.pack_int32(m.task);
      pk.pack_int32(m.meta->component_index);
      pk.pack_int32(m.meta->stream_index);
      pk.pack_int32(m.source_task);
      check_size(m.anchors.size(), k_max_container_size, "anchor list", "elements");
      pk.pack_array(static_cast<std::uint32_t>(m.anchors.size()));
      for (const detail::Anchor& a : m.anchors) {
        pk.pack_array(2);
        pk.pack_uint64(a.root);
        pk.pack_uint64(a.edge);
      }
      pack_values(pk, m.values);
      break;
    }
    case MessageKind::tick:
      // The receiver rebuilds the tick tuple: it has no values and a fixed stream.
      pk.pack_array(k_tick_fields);
      pk.pack_uint8(kind);
      pk.pack_int32(m.task);
      break;
    case MessageKind::acker_init:
    case MessageKind::acker_ack:
    case MessageKind::acker_fail:
    case MessageKind::spout_ack:
    case MessageKind::spout_fail:
      pk.pack_array(k_ack_fields);
      pk.pack_uint8(kind);
      pk.pack_int32(m.task);
      pk.pack_int32(m.spout_task);
      pk.pack_uint64(m.root);
      pk.pack_uint64(m.value);
      break;
    default:
      throw_encode("message " + std::to_string(index) + " has unknown kind " +
                   std::to_string(kind));
  }
}

}  // namespace

std::string encode_values(const Values& values) {
  std::string out;
  Packer pk(out, 8 + values.size() * k_bytes_per_value_guess);
  pack_values(pk, values);
  pk.finish();
  return out;
}

namespace {

// A [word, count] tuple message is ~20 bytes; reserving a little more avoids regrowth for the
// common small tuples.
std::size_t batch_size_hint(std::size_t count) { return 8 + count * 32; }

void encode_batch_to(std::span<const wire::Message> messages, Packer& pk) {
  check_size(messages.size(), k_max_container_size, "batch", "messages");
  pk.pack_array(2);
  pk.pack_uint8(batch_format_version);
  pk.pack_array(static_cast<std::uint32_t>(messages.size()));
  for (std::size_t i = 0; i < messages.size(); ++i) pack_message(pk, messages[i], i);
  pk.finish();
}

}  // namespace

std::string encode_batch(std::span<const wire::Message> messages) {
  std::string out;
  Packer pk(out, batch_size_hint(messages.size()));
  encode_batch_to(messages, pk);
  return out;
}

bool encode_batch_within(std::span<const wire::Message> messages, std::size_t max_bytes,
                         std::string& out) {
  try {
    Packer pk(out, std::min(batch_size_hint(messages.size()), max_bytes), max_bytes);
    encode_batch_to(messages, pk);
  } catch (const Packer::OverLimit&) {
    return false;
  } catch (const std::exception&) {
    return false;  // a message that cannot be encoded: encode_batch_split says which and why
  }
  return out.size() <= max_bytes;
}

void encode_batch_split(std::span<const wire::Message> messages, std::size_t max_bytes,
                        std::vector<std::string>& batches, std::vector<Unencodable>& refused) {
  // Measure every message (the same traversal and checks as encoding, writing nothing), leave out
  // those that cannot go in any batch, then cut the others, in order, into batches that fit.
  std::vector<std::size_t> sizes(messages.size(), 0);  // 0: left out (a message takes >= 3)
  for (std::size_t i = 0; i < messages.size(); ++i) {
    SizeCounter counter;
    try {
      pack_message(counter, messages[i], i);
    } catch (const std::exception& e) {
      refused.push_back({i, 0, e.what()});
      continue;
    }
    if (batch_header_size(1) + counter.size() > max_bytes) {
      refused.push_back({i, counter.size(),
                         "it takes " + std::to_string(counter.size()) +
                             " bytes encoded, over the limit of " + std::to_string(max_bytes) +
                             " bytes per message"});
      continue;
    }
    sizes[i] = counter.size();
  }
  std::vector<std::size_t> members;  // indexes of the batch being cut
  std::size_t body = 0;
  auto cut = [&] {
    std::string out;
    const std::size_t total = batch_header_size(members.size()) + body;
    Packer pk(out, total);
    pk.pack_array(2);
    pk.pack_uint8(batch_format_version);
    pk.pack_array(static_cast<std::uint32_t>(members.size()));
    for (std::size_t i : members) pack_message(pk, messages[i], i);
    pk.finish();
    batches.push_back(std::move(out));
    members.clear();
    body = 0;
  };
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (sizes[i] == 0) continue;
    if (!members.empty() &&
        (batch_header_size(members.size() + 1) + body + sizes[i] > max_bytes ||
         members.size() == k_max_container_size)) {
      cut();
    }
    members.push_back(i);
    body += sizes[i];
  }
  if (!members.empty()) cut();
}

}  // namespace gale::wire
