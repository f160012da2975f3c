// The fast path of wire::decode_batch: a reader specialised for the batch layout Gale writes
// (docs/wire-format.md) whose values are scalars (nil, bool, int, double, string, bytes). It reads
// the bytes directly, without msgpack's generic parser and visitor, and gives up at the first
// thing it does not expect: a list or map value, a malformed or truncated byte, an out-of-range
// field, an unknown stream, trailing bytes. decode_batch then runs the generic decoder, which
// handles every valid batch and words every error. So the fast path never needs an error message
// of its own, and it accepts only batches the generic decoder accepts, decoding them to the same
// messages (tests/unit/test_serialization.cpp checks both on valid and on corrupted batches).

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "wire/codec.hpp"
#include "wire/layout.hpp"

namespace gale::wire::detail_decode {

namespace {

using wire::Message;
using wire::MessageKind;

using namespace layout;

// An integer as msgpack stores it: negative ones as int64, others as uint64.
struct Int {
  bool negative = false;
  std::int64_t i = 0;
  std::uint64_t u = 0;
};

// Reads msgpack items from a byte range. Every read returns false, leaving the reader unusable,
// when the next item is not of the asked-for shape or the input ends.
class Reader {
 public:
  Reader(const unsigned char* p, const unsigned char* end) : p_(p), end_(end) {}

  bool at_end() const noexcept { return p_ == end_; }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }

  bool array(std::uint32_t& size) {
    if (p_ == end_) return false;
    const unsigned char b = *p_;
    if ((b & 0xf0) == 0x90) {
      ++p_;
      size = b & 0x0f;
      return true;
    }
    if (b == 0xdc) return big_endian(1, 2, size);
    if (b == 0xdd) return big_endian(1, 4, size);
    return false;
  }

  bool integer(Int& n) {
    if (p_ == end_) return false;
    const unsigned char b = *p_;
    if (b <= 0x7f) {
      ++p_;
      n = {false, 0, b};
      return true;
    }
    if (b >= 0xe0) {
      ++p_;
      n = {true, static_cast<std::int8_t>(b), 0};
      return true;
    }
    std::uint64_t raw = 0;
    switch (b) {
      case 0xcc:
        return unsigned_of(1, n);
      case 0xcd:
        return unsigned_of(2, n);
      case 0xce:
        return unsigned_of(4, n);
      case 0xcf:
        return unsigned_of(8, n);
      case 0xd0:
        if (!big_endian(1, 1, raw)) return false;
        return signed_of(static_cast<std::int8_t>(raw), n);
      case 0xd1:
        if (!big_endian(1, 2, raw)) return false;
        return signed_of(static_cast<std::int16_t>(raw), n);
      case 0xd2:
        if (!big_endian(1, 4, raw)) return false;
        return signed_of(static_cast<std::int32_t>(raw), n);
      case 0xd3:
        if (!big_endian(1, 8, raw)) return false;
        return signed_of(static_cast<std::int64_t>(raw), n);
      default:
        return false;
    }
  }

  bool int32(std::int32_t& out) {
    Int n;
    if (!integer(n)) return false;
    if (n.negative) {
      if (n.i < std::numeric_limits<std::int32_t>::min()) return false;
      out = static_cast<std::int32_t>(n.i);
      return true;
    }
    if (n.u > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())) return false;
    out = static_cast<std::int32_t>(n.u);
    return true;
  }

  bool uint64(std::uint64_t& out) {
    Int n;
    if (!integer(n) || n.negative) return false;
    out = n.u;
    return true;
  }

  // One scalar value appended to `values`; false for lists, maps, ext and anything malformed.
  bool scalar_value(Values& values) {
    if (p_ == end_) return false;
    const unsigned char b = *p_;
    if ((b & 0xe0) == 0xa0) {
      ++p_;
      return string(b & 0x1f, values);
    }
    std::uint64_t size = 0;
    switch (b) {
      case 0xc0:
        ++p_;
        values.emplace_back();
        return true;
      case 0xc2:
        ++p_;
        values.emplace_back(false);
        return true;
      case 0xc3:
        ++p_;
        values.emplace_back(true);
        return true;
      case 0xca: {
        if (!big_endian(1, 4, size)) return false;
        values.emplace_back(double{std::bit_cast<float>(static_cast<std::uint32_t>(size))});
        return true;
      }
      case 0xcb: {
        if (!big_endian(1, 8, size)) return false;
        values.emplace_back(std::bit_cast<double>(size));
        return true;
      }
      case 0xd9:
        return big_endian(1, 1, size) && string(size, values);
      case 0xda:
        return big_endian(1, 2, size) && string(size, values);
      case 0xdb:
        return big_endian(1, 4, size) && string(size, values);
      case 0xc4:
        return big_endian(1, 1, size) && bytes(size, values);
      case 0xc5:
        return big_endian(1, 2, size) && bytes(size, values);
      case 0xc6:
        return big_endian(1, 4, size) && bytes(size, values);
      default:
        break;
    }
    Int n;
    if (!integer(n)) return false;  // lists, maps, ext, 0xc1
    if (!n.negative && n.u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return false;  // not an int64
    }
    values.emplace_back(n.negative ? n.i : static_cast<std::int64_t>(n.u));
    return true;
  }

 private:
  // Skips `skip` bytes, then reads a `width`-byte big-endian number.
  template <class T>
  bool big_endian(std::size_t skip, std::size_t width, T& out) {
    if (static_cast<std::size_t>(end_ - p_) < skip + width) return false;
    p_ += skip;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | p_[i];
    p_ += width;
    out = static_cast<T>(v);
    return true;
  }
  bool unsigned_of(std::size_t width, Int& n) {
    std::uint64_t v = 0;
    if (!big_endian(1, width, v)) return false;
    n = {false, 0, v};
    return true;
  }
  static bool signed_of(std::int64_t v, Int& n) {
    n = v < 0 ? Int{true, v, 0} : Int{false, 0, static_cast<std::uint64_t>(v)};
    return true;
  }
  bool string(std::uint64_t size, Values& values) {
    if (size > k_max_blob_size || static_cast<std::uint64_t>(end_ - p_) < size) return false;
    values.emplace_back(std::string(reinterpret_cast<const char*>(p_), size));
    p_ += size;
    return true;
  }
  bool bytes(std::uint64_t size, Values& values) {
    if (size > k_max_blob_size || static_cast<std::uint64_t>(end_ - p_) < size) return false;
    values.emplace_back(Bytes(p_, p_ + size));
    p_ += size;
    return true;
  }

  const unsigned char* p_;
  const unsigned char* const end_;
};

bool read_message(Reader& in, const StreamResolver& resolve, Message& m) {
  std::uint32_t fields = 0;
  Int kind;
  if (!in.array(fields) || !in.integer(kind) || kind.negative ||
      kind.u > static_cast<std::uint64_t>(k_last_kind)) {
    return false;
  }
  m.kind = static_cast<MessageKind>(kind.u);
  if (!in.int32(m.task)) return false;
  switch (m.kind) {
    case MessageKind::tuple: {
      std::int32_t component = 0, stream = 0;
      if (fields != k_tuple_fields || !in.int32(component) || !in.int32(stream) ||
          !in.int32(m.source_task)) {
        return false;
      }
      m.meta = resolve(component, stream);
      if (m.meta == nullptr) return false;
      std::uint32_t anchors = 0;
      if (!in.array(anchors) || anchors > k_max_container_size) return false;
      // Each anchor takes at least 3 bytes: a declared count is trusted only that far, or a
      // 5-byte header could reserve 256 MiB.
      if (anchors > 0) m.anchors.reserve(std::min<std::size_t>(anchors, in.remaining() / 3));
      for (std::uint32_t a = 0; a < anchors; ++a) {
        std::uint32_t pair = 0;
        detail::Anchor anchor{};
        if (!in.array(pair) || pair != 2 || !in.uint64(anchor.root) || !in.uint64(anchor.edge)) {
          return false;
        }
        m.anchors.push_back(anchor);
      }
      std::uint32_t count = 0;
      if (!in.array(count) || count != m.meta->fields.size()) return false;
      m.values.reserve(count);
      for (std::uint32_t v = 0; v < count; ++v) {
        if (!in.scalar_value(m.values)) return false;
      }
      return true;
    }
    case MessageKind::tick:
      if (fields != k_tick_fields) return false;
      complete_tick(m);
      return true;
    default:
      return fields == k_ack_fields && in.int32(m.spout_task) && in.uint64(m.root) &&
             in.uint64(m.value);
  }
}

}  // namespace

bool decode_batch_fast(std::string_view bytes, const StreamResolver& resolve,
                       std::vector<Message>& out) {
  const auto* begin = reinterpret_cast<const unsigned char*>(bytes.data());
  Reader in(begin, begin + bytes.size());
  std::uint32_t outer = 0, count = 0;
  Int version;
  if (!in.array(outer) || outer != 2 || !in.integer(version) || version.negative ||
      version.u != batch_format_version || !in.array(count) || count > k_max_container_size) {
    return false;
  }
  const std::size_t old_size = out.size();
  // Each message takes at least 3 bytes: a count beyond that is a lie the loop will catch.
  out.reserve(old_size + std::min<std::size_t>(count, bytes.size() / 3));
  bool ok = true;
  try {
    for (std::uint32_t i = 0; ok && i < count; ++i) {
      Message& m = out.emplace_back();
      ok = read_message(in, resolve, m);
    }
  } catch (...) {
    out.resize(old_size);
    throw;  // what the resolver threw, or bad_alloc
  }
  if (ok && in.at_end()) return true;
  out.resize(old_size);
  return false;
}

}  // namespace gale::wire::detail_decode
