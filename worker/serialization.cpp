#include "worker/serialization.hpp"

#include <bit>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include <msgpack.hpp>

#include <gale/errors.hpp>

// Layout and rules: docs/wire-format.md. Decoding reads bytes from another process (or from a
// corrupted connection), so every step checks what it reads; nothing here trusts a length, a type
// or an index from the input.

namespace gale::wire {

namespace {

using worker::Message;
using worker::MessageKind;

// Limits (see docs/wire-format.md). Lists and maps may nest this deep inside a value.
constexpr std::size_t k_max_value_depth = 64;
// Elements of one array, or pairs of one map.
constexpr std::size_t k_max_container_size = std::size_t{1} << 24;
// Bytes of one string or bytes value.
constexpr std::size_t k_max_blob_size = std::size_t{1} << 28;
// Containers around a tuple's values in a batch: [version, [[..., [values]], ...]].
constexpr std::size_t k_batch_depth = 4;
// Containers around the values of encode_values: [values].
constexpr std::size_t k_values_depth = 1;

// Number of fields of each message kind's array.
constexpr std::uint32_t k_tuple_fields = 7;
constexpr std::uint32_t k_tick_fields = 2;
constexpr std::uint32_t k_ack_fields = 5;
constexpr auto k_last_kind = MessageKind::spout_fail;

// Tick tuples come from no task; the executors that make them locally use source task 0 too, so a
// tick decoded here looks exactly like a local one.
constexpr std::int32_t k_tick_source_task = 0;

const char* kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::tuple: return "tuple";
    case MessageKind::tick: return "tick";
    case MessageKind::acker_init: return "acker_init";
    case MessageKind::acker_ack: return "acker_ack";
    case MessageKind::acker_fail: return "acker_fail";
    case MessageKind::spout_ack: return "spout_ack";
    case MessageKind::spout_fail: return "spout_fail";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Encoding

// Appends straight into the result string: msgpack::sbuffer would need a second copy into the
// std::string the transport sends.
class StringSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void write(const char* data, std::size_t size) { out_.append(data, size); }

 private:
  std::string& out_;
};

using Packer = msgpack::packer<StringSink>;

// The packer plus direct access to its output, for the one form msgpack::packer cannot write.
class Encoder {
 public:
  explicit Encoder(std::string& out) : sink_(out), pk_(sink_) {}
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  Packer& pk() { return pk_; }

  // msgpack-c 4's pack_double writes integral doubles (1.0) as integers, which would come back as
  // int: a different Value. Gale always writes float64 (0xcb, big-endian IEEE 754).
  void float64(double d) {
    const auto bits = std::bit_cast<std::uint64_t>(d);
    char buf[9];
    buf[0] = static_cast<char>(0xcb);
    for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    sink_.write(buf, sizeof buf);
  }

 private:
  StringSink sink_;
  Packer pk_;
};

// What a value adds to the encoded size, roughly: used only to reserve the buffer once.
constexpr std::size_t k_bytes_per_value_guess = 12;

[[noreturn]] void throw_encode(const std::string& what) {
  throw Error("cannot encode for the wire: " + what);
}

void check_size(std::size_t size, std::size_t limit, const char* what) {
  // The decoder would reject it; failing here names the culprit at the sender instead.
  if (size > limit) {
    throw_encode(std::string(what) + " of " + std::to_string(size) + " exceeds the limit of " +
                 std::to_string(limit));
  }
}

void pack_string(Packer& pk, const std::string& s) {
  check_size(s.size(), k_max_blob_size, "string");
  const auto size = static_cast<std::uint32_t>(s.size());
  pk.pack_str(size);
  pk.pack_str_body(s.data(), size);
}

// `depth_left`: how many more list/map levels may open here.
void pack_value(Encoder& enc, const Value& v, std::size_t depth_left) {
  Packer& pk = enc.pk();
  switch (v.type()) {
    case Value::Type::null: pk.pack_nil(); break;
    case Value::Type::boolean: v.as_bool() ? pk.pack_true() : pk.pack_false(); break;
    // pack_int64 picks the shortest msgpack integer form (1 byte for 0..127).
    case Value::Type::integer: pk.pack_int64(v.as_int()); break;
    // Always float64: float32 would lose precision, and the type must survive the round trip.
    case Value::Type::floating: enc.float64(v.as_double()); break;
    case Value::Type::string: pack_string(pk, v.as_string()); break;
    case Value::Type::bytes: {
      const Bytes& b = v.as_bytes();
      check_size(b.size(), k_max_blob_size, "bytes value");
      const auto size = static_cast<std::uint32_t>(b.size());
      pk.pack_bin(size);
      pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), size);
      break;
    }
    case Value::Type::list: {
      if (depth_left == 0) throw_encode("value nests deeper than the limit of 64 levels");
      const List& l = v.as_list();
      check_size(l.size(), k_max_container_size, "list");
      pk.pack_array(static_cast<std::uint32_t>(l.size()));
      for (const Value& e : l) pack_value(enc, e, depth_left - 1);
      break;
    }
    case Value::Type::map: {
      if (depth_left == 0) throw_encode("value nests deeper than the limit of 64 levels");
      const Map& m = v.as_map();
      check_size(m.size(), k_max_container_size, "map");
      pk.pack_map(static_cast<std::uint32_t>(m.size()));
      for (const auto& [key, e] : m) {
        pack_string(pk, key);
        pack_value(enc, e, depth_left - 1);
      }
      break;
    }
  }
}

void pack_values(Encoder& enc, const Values& values) {
  check_size(values.size(), k_max_container_size, "tuple");
  enc.pk().pack_array(static_cast<std::uint32_t>(values.size()));
  for (const Value& v : values) pack_value(enc, v, k_max_value_depth);
}

void pack_message(Encoder& enc, const Message& m, std::size_t index) {
  Packer& pk = enc.pk();
  const auto kind = static_cast<std::uint8_t>(m.kind);
  switch (m.kind) {
    case MessageKind::tuple: {
      const detail::TupleData* data = detail::TupleAccess::data(m.tuple);
      if (data == nullptr || data->meta == nullptr) {
        throw_encode("message " + std::to_string(index) + " is a tuple message without a tuple");
      }
      pk.pack_array(k_tuple_fields);
      pk.pack_uint8(kind);
      pk.pack_int32(m.task);
      pk.pack_int32(data->meta->component_index);
      pk.pack_int32(data->meta->stream_index);
      pk.pack_int32(data->source_task);
      check_size(data->anchors.size(), k_max_container_size, "anchor list");
      pk.pack_array(static_cast<std::uint32_t>(data->anchors.size()));
      for (const detail::Anchor& a : data->anchors) {
        pk.pack_array(2);
        pk.pack_uint64(a.root);
        pk.pack_uint64(a.edge);
      }
      pack_values(enc, data->values);
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

// ---------------------------------------------------------------------------------------------
// Decoding

// Thrown inside the decoder and turned into gale::Error at the boundary, with where it happened.
struct Malformed {
  std::string what;
};

[[noreturn]] void malformed(std::string what) { throw Malformed{std::move(what)}; }

// First pass over the input: checks that it is one complete msgpack object, with no trailing bytes,
// no ext values, and containers within the limits, without allocating anything per element.
//
// Why a separate pass: msgpack::unpack allocates an array's element storage as soon as it reads
// the array's header, before it knows whether the elements are there. unpack_limit caps one
// array, but a chain of 64 nested headers each claiming the cap still adds up to gigabytes from a
// few hundred bytes of input. After this pass every declared element is known to be present, so
// what unpack allocates is bounded by a small multiple of the input size.
class Scanner : public msgpack::null_visitor {
 public:
  explicit Scanner(std::size_t max_depth) : max_depth_(max_depth) {}

  bool start_array(std::uint32_t size) { return open(size, "array"); }
  bool end_array() { return close(); }
  bool start_map(std::uint32_t size) { return open(size, "map"); }
  bool end_map() { return close(); }
  bool visit_str(const char*, std::uint32_t size) { return blob(size, "string"); }
  bool visit_bin(const char*, std::uint32_t size) { return blob(size, "bytes value"); }
  bool visit_ext(const char*, std::uint32_t) {
    error_ = "msgpack ext values are not part of the format";
    return false;
  }
  void parse_error(std::size_t, std::size_t error_offset) {
    error_ = "invalid msgpack byte at offset " + std::to_string(error_offset);
  }
  void insufficient_bytes(std::size_t, std::size_t) { truncated_ = true; }

  const std::string& error() const { return error_; }
  bool truncated() const { return truncated_; }

 private:
  bool open(std::uint32_t size, const char* what) {
    if (++depth_ > max_depth_) {
      error_ = "containers nest deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    if (size > k_max_container_size) {
      error_ = std::string(what) + " of " + std::to_string(size) + " elements exceeds the limit of " +
               std::to_string(k_max_container_size);
      return false;
    }
    return true;
  }

  bool close() {
    --depth_;
    return true;
  }

  bool blob(std::uint32_t size, const char* what) {
    if (size > k_max_blob_size) {
      error_ = std::string(what) + " of " + std::to_string(size) + " bytes exceeds the limit of " +
               std::to_string(k_max_blob_size);
      return false;
    }
    return true;
  }

  std::size_t max_depth_;
  std::size_t depth_ = 0;
  std::string error_;
  bool truncated_ = false;
};

// Strings and bytes are copied into Values right away, while the input is alive, so the object
// tree may point into the input instead of copying every string into its zone first.
bool reference_input(msgpack::type::object_type, std::size_t, void*) { return true; }

msgpack::object_handle unpack_checked(std::string_view bytes, std::size_t max_depth) {
  if (bytes.empty()) malformed("empty input");
  Scanner scanner(max_depth);
  std::size_t off = 0;
  if (!msgpack::parse(bytes.data(), bytes.size(), off, scanner)) {
    if (!scanner.error().empty()) malformed(scanner.error());
    if (scanner.truncated()) {
      malformed("truncated: input of " + std::to_string(bytes.size()) +
                " bytes ends inside a value");
    }
    malformed("invalid msgpack");
  }
  if (off != bytes.size()) {
    malformed(std::to_string(bytes.size() - off) + " trailing bytes after the end at offset " +
              std::to_string(off));
  }
  // Same limits again: they cost nothing and keep unpack safe on its own.
  const msgpack::unpack_limit limit(k_max_container_size, k_max_container_size, k_max_blob_size,
                                    k_max_blob_size, 0, max_depth);
  try {
    off = 0;
    return msgpack::unpack(bytes.data(), bytes.size(), off, reference_input, nullptr, limit);
  } catch (const msgpack::unpack_error& e) {
    malformed(std::string("msgpack: ") + e.what());
  }
}

const char* wire_type_name(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "bool";
    case msgpack::type::POSITIVE_INTEGER: return "unsigned int";
    case msgpack::type::NEGATIVE_INTEGER: return "negative int";
    case msgpack::type::FLOAT32: return "float32";
    case msgpack::type::FLOAT64: return "float64";
    case msgpack::type::STR: return "string";
    case msgpack::type::BIN: return "bytes";
    case msgpack::type::ARRAY: return "array";
    case msgpack::type::MAP: return "map";
    case msgpack::type::EXT: return "ext";
  }
  return "unknown";
}

[[noreturn]] void wrong_type(const char* field, const char* expected, const msgpack::object& o) {
  malformed(std::string(field) + ": expected " + expected + ", got " + wire_type_name(o));
}

std::int64_t read_int(const msgpack::object& o, const char* field, std::int64_t min,
                      std::int64_t max) {
  std::int64_t v = 0;
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(max)) {
      malformed(std::string(field) + ": " + std::to_string(o.via.u64) + " is out of range");
    }
    v = static_cast<std::int64_t>(o.via.u64);
  } else if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    v = o.via.i64;
  } else {
    wrong_type(field, "an integer", o);
  }
  if (v < min || v > max) {
    malformed(std::string(field) + ": " + std::to_string(v) + " is out of range");
  }
  return v;
}

std::int32_t read_int32(const msgpack::object& o, const char* field) {
  return static_cast<std::int32_t>(read_int(o, field, std::numeric_limits<std::int32_t>::min(),
                                            std::numeric_limits<std::int32_t>::max()));
}

std::uint64_t read_uint64(const msgpack::object& o, const char* field) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) wrong_type(field, "an unsigned integer", o);
  return o.via.u64;
}

const msgpack::object_array& read_array(const msgpack::object& o, const char* field) {
  if (o.type != msgpack::type::ARRAY) wrong_type(field, "an array", o);
  return o.via.array;
}

const msgpack::object_array& read_array(const msgpack::object& o, const char* field,
                                        std::uint32_t size) {
  const msgpack::object_array& a = read_array(o, field);
  if (a.size != size) {
    malformed(std::string(field) + ": expected " + std::to_string(size) + " elements, got " +
              std::to_string(a.size));
  }
  return a;
}

Value to_value(const msgpack::object& o, std::size_t depth_left) {
  switch (o.type) {
    case msgpack::type::NIL: return Value();
    case msgpack::type::BOOLEAN: return Value(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER:
      // Values are int64; a larger unsigned integer was not written by Gale.
      if (o.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        malformed("integer " + std::to_string(o.via.u64) + " is out of the int64 range");
      }
      return Value(static_cast<std::int64_t>(o.via.u64));
    case msgpack::type::NEGATIVE_INTEGER: return Value(o.via.i64);
    // Gale writes float64; float32 from another writer is still a valid double.
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return Value(o.via.f64);
    case msgpack::type::STR: return Value(std::string(o.via.str.ptr, o.via.str.size));
    case msgpack::type::BIN: {
      const auto* p = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
      return Value(Bytes(p, p + o.via.bin.size));
    }
    case msgpack::type::ARRAY: {
      if (depth_left == 0) malformed("value nests deeper than 64 levels");
      List list;
      list.reserve(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        list.push_back(to_value(o.via.array.ptr[i], depth_left - 1));
      }
      return Value(std::move(list));
    }
    case msgpack::type::MAP: {
      if (depth_left == 0) malformed("value nests deeper than 64 levels");
      Map map;
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const msgpack::object_kv& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) {
          malformed(std::string("map key is ") + wire_type_name(kv.key) + ", expected string");
        }
        std::string key(kv.key.via.str.ptr, kv.key.via.str.size);
        // Gale writes keys in order, so the hint makes each insert O(1); other orders still work.
        auto hint = map.end();
        if (!map.empty() && !(std::prev(hint)->first < key)) hint = map.lower_bound(key);
        if (hint != map.end() && hint->first == key) {
          // Silently keeping one of two values would lose data: the sender is broken.
          malformed("duplicate map key \"" + key + "\"");
        }
        map.emplace_hint(hint, std::move(key), to_value(kv.val, depth_left - 1));
      }
      return Value(std::move(map));
    }
    case msgpack::type::EXT: break;
  }
  malformed(std::string("unsupported msgpack type ") + wire_type_name(o));
}

Values to_values(const msgpack::object_array& a) {
  Values values;
  values.reserve(a.size);
  for (std::uint32_t i = 0; i < a.size; ++i) {
    try {
      values.push_back(to_value(a.ptr[i], k_max_value_depth));
    } catch (Malformed& e) {
      e.what = "value " + std::to_string(i) + ": " + e.what;
      throw;
    }
  }
  return values;
}

Message decode_message(const msgpack::object& o, const StreamResolver& resolve) {
  const msgpack::object_array& fields = read_array(o, "message");
  if (fields.size < 2) malformed("message: expected at least [kind, task]");
  const auto kind = static_cast<MessageKind>(
      read_int(fields.ptr[0], "kind", 0, static_cast<std::int64_t>(k_last_kind)));
  Message m;
  m.kind = kind;
  m.task = read_int32(fields.ptr[1], "task");
  const auto expect_size = [&](std::uint32_t size) {
    if (fields.size != size) {
      malformed(std::string(kind_name(kind)) + " message: expected " + std::to_string(size) +
                " fields, got " + std::to_string(fields.size));
    }
  };
  switch (kind) {
    case MessageKind::tuple: {
      expect_size(k_tuple_fields);
      const std::int32_t component = read_int32(fields.ptr[2], "component index");
      const std::int32_t stream = read_int32(fields.ptr[3], "stream index");
      const detail::StreamMeta* meta = resolve(component, stream);
      if (meta == nullptr) {
        malformed("unknown stream (component index " + std::to_string(component) +
                  ", stream index " + std::to_string(stream) + ")");
      }
      auto data = std::make_shared<detail::TupleData>();
      data->meta = meta;
      data->source_task = read_int32(fields.ptr[4], "source task");
      const msgpack::object_array& anchors = read_array(fields.ptr[5], "anchors");
      data->anchors.reserve(anchors.size);
      for (std::uint32_t i = 0; i < anchors.size; ++i) {
        const msgpack::object_array& pair = read_array(anchors.ptr[i], "anchor", 2);
        data->anchors.push_back(
            {read_uint64(pair.ptr[0], "anchor root"), read_uint64(pair.ptr[1], "anchor edge")});
      }
      const msgpack::object_array& values = read_array(fields.ptr[6], "values");
      // Getters index values by the stream's fields; a tuple of another arity would break them.
      if (values.size != meta->fields.size()) {
        malformed("tuple on " + meta->component + ":" + meta->stream + " has " +
                  std::to_string(values.size) + " values, the stream declares " +
                  std::to_string(meta->fields.size()) + " fields " + meta->fields.to_string());
      }
      data->values = to_values(values);
      m.tuple = detail::TupleAccess::wrap(std::move(data));
      break;
    }
    case MessageKind::tick: {
      expect_size(k_tick_fields);
      auto data = std::make_shared<detail::TupleData>();
      data->meta = &detail::tick_stream_meta();
      data->source_task = k_tick_source_task;
      m.tuple = detail::TupleAccess::wrap(std::move(data));
      break;
    }
    case MessageKind::acker_init:
    case MessageKind::acker_ack:
    case MessageKind::acker_fail:
    case MessageKind::spout_ack:
    case MessageKind::spout_fail:
      expect_size(k_ack_fields);
      m.spout_task = read_int32(fields.ptr[2], "spout task");
      m.root = read_uint64(fields.ptr[3], "root");
      m.value = read_uint64(fields.ptr[4], "value");
      break;
  }
  return m;
}

}  // namespace

std::string encode_values(const Values& values) {
  std::string out;
  out.reserve(8 + values.size() * k_bytes_per_value_guess);
  Encoder enc(out);
  pack_values(enc, values);
  return out;
}

Values decode_values(std::string_view bytes) {
  try {
    msgpack::object_handle handle = unpack_checked(bytes, k_values_depth + k_max_value_depth);
    return to_values(read_array(handle.get(), "values"));
  } catch (const Malformed& e) {
    throw Error("malformed values: " + e.what);
  }
}

std::string encode_batch(std::span<const worker::Message> messages) {
  check_size(messages.size(), k_max_container_size, "batch");
  std::string out;
  // A [word, count] tuple message is ~20 bytes; reserving a little more avoids regrowth for the
  // common small tuples.
  out.reserve(8 + messages.size() * 32);
  Encoder enc(out);
  enc.pk().pack_array(2);
  enc.pk().pack_uint8(batch_format_version);
  enc.pk().pack_array(static_cast<std::uint32_t>(messages.size()));
  for (std::size_t i = 0; i < messages.size(); ++i) pack_message(enc, messages[i], i);
  return out;
}

void decode_batch(std::string_view bytes, const StreamResolver& resolve,
                  std::vector<worker::Message>& out) {
  const std::size_t old_size = out.size();
  // Which message failed, for the error message; -1 while still in the batch header.
  std::int64_t current = -1;
  try {
    msgpack::object_handle handle =
        unpack_checked(bytes, k_batch_depth + k_max_value_depth);
    const msgpack::object_array& batch = read_array(handle.get(), "batch");
    if (batch.size == 0) malformed("batch: expected [version, messages], got an empty array");
    // The version comes first and is checked before anything else of the layout, which a later
    // version may change.
    const std::int64_t version = read_int(batch.ptr[0], "batch version", 0,
                                          std::numeric_limits<std::int64_t>::max());
    if (version != batch_format_version) {
      throw Error("unsupported batch format version " + std::to_string(version) +
                  " (this build reads version " + std::to_string(batch_format_version) + ")");
    }
    if (batch.size != 2) {
      malformed("batch: expected [version, messages], got " + std::to_string(batch.size) +
                " elements");
    }
    const msgpack::object_array& messages = read_array(batch.ptr[1], "messages");
    out.reserve(old_size + messages.size);
    for (std::uint32_t i = 0; i < messages.size; ++i) {
      current = i;
      out.push_back(decode_message(messages.ptr[i], resolve));
    }
  } catch (const Malformed& e) {
    // "on throw, out holds none of the batch"
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(old_size), out.end());
    std::string where = current < 0 ? "" : "message " + std::to_string(current) + ": ";
    throw Error("malformed batch: " + where + e.what);
  } catch (...) {
    // gale::Error for a version mismatch, or whatever the resolver threw.
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(old_size), out.end());
    throw;
  }
}

}  // namespace gale::wire
