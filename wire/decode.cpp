#include "wire/codec.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <msgpack.hpp>

#include <gale/errors.hpp>

#include "wire/layout.hpp"

// The generic decoder of values and batches (layout and rules: docs/wire-format.md); the fast path
// for scalar-only batches is fast_decode.cpp. Decoding reads bytes from another process (or from a
// corrupted connection), so every step checks what it reads; nothing here trusts a length, a type
// or an index from the input.

namespace gale::wire {

namespace {

using wire::Message;
using wire::MessageKind;
using namespace layout;  // limits and field counts shared with the encoder and the fast decoder

const char* kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::tuple:
      return "tuple";
    case MessageKind::tick:
      return "tick";
    case MessageKind::acker_init:
      return "acker_init";
    case MessageKind::acker_ack:
      return "acker_ack";
    case MessageKind::acker_fail:
      return "acker_fail";
    case MessageKind::spout_ack:
      return "spout_ack";
    case MessageKind::spout_fail:
      return "spout_fail";
  }
  return "unknown";
}

// One pass: msgpack-c's parser (msgpack::parse) reads the bytes and calls the Decoder below for
// each item, and the Decoder builds Messages and Values directly. Compared with msgpack::unpack
// into an object tree and converting that, this saves the tree (an allocation zone and a second
// walk) and, more importantly, decides every allocation itself: unpack allocates an array's storage
// as soon as it reads the header, before the elements are known to exist, so a few hundred bytes of
// nested headers could make it allocate gigabytes whatever unpack_limit says. Here a declared size
// is only a hint for reserve(), capped by what the input could possibly hold.

// Thrown inside the decoder and turned into gale::Error at the boundary, with where it happened.
struct Malformed {
  std::string what;
};

[[noreturn]] void malformed(std::string what) { throw Malformed{std::move(what)}; }

// What the current container is; the Decoder keeps a stack of them.
enum class Slot : std::uint8_t {
  batch,     // [version, messages]
  messages,  // [message, ...]
  message,   // [kind, task, ...]
  anchors,   // [[root, edge], ...]
  anchor,    // [root, edge]
  values,    // a tuple's values, or the top level of decode_values
  list,      // a list value being built
  map,       // a map value being built
};

struct Frame {
  Slot slot = Slot::batch;
  std::uint32_t size = 0;   // elements (pairs, for a map) the header declared
  std::uint32_t index = 0;  // element being read
  bool want_key = false;    // map: the next item is a key
  // Frames are reused from call to call of one decode, so these keep their storage.
  List list;        // list: elements so far
  Map map;          // map: entries so far
  std::string key;  // map: the key whose value comes next
};

// Where the item the parser reports next goes.
enum class Place : std::uint8_t { field, value, key };

// A msgpack integer as reported: int8..int64 arrive signed (even when >= 0), uint8..uint64 and
// positive fixints unsigned.
struct Int {
  bool is_signed;
  std::int64_t i;
  std::uint64_t u;
};

// The msgpack visitor. Thread: one decode call; not shared.
class Decoder : public msgpack::null_visitor {
 public:
  Decoder(std::string_view input, const StreamResolver& resolve, std::vector<Message>& out)
      : input_(input), resolve_(&resolve), out_(&out) {}
  Decoder(std::string_view input, Values& values) : input_(input), values_out_(&values) {}

  // Parses the whole input. Throws Malformed (or, for a version mismatch, gale::Error; or what the
  // resolver throws).
  void run() {
    if (input_.empty()) malformed("empty input");
    frames_.reserve(8);
    std::size_t off = 0;
    if (!msgpack::parse(input_.data(), input_.size(), off, *this)) {
      if (parse_error_offset_) {
        malformed("invalid msgpack byte at offset " + std::to_string(*parse_error_offset_));
      }
      malformed("truncated: input of " + std::to_string(input_.size()) +
                " bytes ends inside a value");
    }
    if (off != input_.size()) {
      malformed(std::to_string(input_.size() - off) + " trailing bytes after the end at offset " +
                std::to_string(off));
    }
  }

  // Where the parse stopped, for an error message: "message 3: value 1: ", or "" at the top.
  std::string where() const {
    std::string out;
    if (current_message_ >= 0) out = "message " + std::to_string(current_message_) + ": ";
    for (std::size_t d = 0; d < depth_; ++d) {
      if (frames_[d].slot == Slot::values) {
        out += "value " + std::to_string(frames_[d].index) + ": ";
        break;
      }
    }
    return out;
  }

  // --- msgpack::parse's visitor interface. Errors throw; true means "go on". ---
  bool visit_nil() { return scalar(Value(), "nil"); }
  bool visit_boolean(bool b) { return scalar(Value(b), "bool"); }
  // Gale writes float64; float32 from another writer is still a valid double.
  bool visit_float32(float f) { return scalar(Value(double{f}), "float32"); }
  bool visit_float64(double d) { return scalar(Value(d), "float64"); }
  bool visit_positive_integer(std::uint64_t u) { return integer({false, 0, u}, "unsigned int"); }
  bool visit_negative_integer(std::int64_t i) { return integer({true, i, 0}, "signed int"); }

  bool visit_str(const char* data, std::uint32_t size) {
    check_blob(size, "string");
    switch (place()) {
      case Place::value:
        deliver(Value(std::string(data, size)));
        break;
      case Place::key:
        top().key.assign(data, size);
        break;
      case Place::field:
        wrong_field("string");
    }
    return true;
  }

  bool visit_bin(const char* data, std::uint32_t size) {
    check_blob(size, "bytes value");
    if (place() != Place::value) wrong("bytes");
    const auto* p = reinterpret_cast<const std::uint8_t*>(data);
    deliver(Value(Bytes(p, p + size)));
    return true;
  }

  bool visit_ext(const char*, std::uint32_t) {
    malformed("msgpack ext values are not part of the format");
  }

  bool start_array(std::uint32_t size) {
    check_container(size, "array");
    switch (place()) {
      case Place::value:
        open_value(Slot::list, size);
        break;
      case Place::key:
        wrong_key("array");
      case Place::field:
        open_field(size);
        break;
    }
    return true;
  }

  bool end_array_item() {
    ++top().index;
    return true;
  }

  bool end_array() {
    Frame& f = top();
    switch (f.slot) {
      case Slot::list: {
        Value v(std::move(f.list));
        pop();
        deliver(std::move(v));
        return true;
      }
      case Slot::anchor:
        msg_.anchors.push_back(anchor_);
        break;
      case Slot::message:
        finish_message();
        break;
      case Slot::batch:
      case Slot::messages:
      case Slot::anchors:
      case Slot::values:
      case Slot::map:
        break;
    }
    pop();
    return true;
  }

  bool start_map(std::uint32_t size) {
    check_container(size, "map");
    switch (place()) {
      case Place::value:
        open_value(Slot::map, size);
        break;
      case Place::key:
        wrong_key("map");
      case Place::field:
        wrong_field("map");
    }
    return true;
  }

  bool start_map_key() {
    top().want_key = true;
    return true;
  }

  bool end_map_key() {
    top().want_key = false;
    return true;
  }

  bool end_map_value() {
    ++top().index;
    return true;
  }

  bool end_map() {
    Value v(std::move(top().map));
    pop();
    deliver(std::move(v));
    return true;
  }

  void parse_error(std::size_t, std::size_t error_offset) { parse_error_offset_ = error_offset; }
  void insufficient_bytes(std::size_t, std::size_t) {}

 private:
  // A list may declare up to k_max_container_size elements; reserve() trusts at most this many
  // before they actually arrive, so that 64 nested lying headers cost kilobytes, not gigabytes.
  static constexpr std::uint32_t k_max_list_reserve = 1024;

  Frame& top() { return frames_[depth_ - 1]; }
  const Frame& top() const { return frames_[depth_ - 1]; }

  Frame& push(Slot slot, std::uint32_t size) {
    if (depth_ == frames_.size()) frames_.emplace_back();
    Frame& f = frames_[depth_++];
    f.slot = slot;
    f.size = size;
    f.index = 0;
    f.want_key = false;
    return f;
  }

  void pop() {
    if (top().slot == Slot::list || top().slot == Slot::map) --value_depth_;
    --depth_;
  }

  Place place() const {
    if (depth_ == 0) return Place::field;
    const Frame& f = top();
    switch (f.slot) {
      case Slot::values:
      case Slot::list:
        return Place::value;
      case Slot::map:
        return f.want_key ? Place::key : Place::value;
      default:
        return Place::field;
    }
  }

  static void check_container(std::uint32_t size, const char* what) {
    if (size > k_max_container_size) {
      malformed(std::string(what) + " of " + std::to_string(size) +
                " elements exceeds the limit of " + std::to_string(k_max_container_size));
    }
  }

  static void check_blob(std::uint32_t size, const char* what) {
    if (size > k_max_blob_size) {
      malformed(std::string(what) + " of " + std::to_string(size) + " bytes exceeds the limit of " +
                std::to_string(k_max_blob_size));
    }
  }

  // Upper bound on how many messages or anchors the input can hold: each takes >= 3 bytes.
  std::uint32_t plausible(std::uint32_t declared) const {
    return static_cast<std::uint32_t>(std::min<std::size_t>(declared, input_.size() / 3));
  }

  // --- structural positions ---

  // The name of the field the next item fills, and what it must be.
  std::pair<const char*, const char*> expected() const {
    constexpr const char* k_int = "an integer";
    constexpr const char* k_uint = "an unsigned integer";
    constexpr const char* k_array = "an array";
    if (depth_ == 0) return {values_out_ != nullptr ? "values" : "batch", k_array};
    const Frame& f = top();
    switch (f.slot) {
      case Slot::batch:
        return f.index == 0 ? std::pair{"batch version", k_uint} : std::pair{"messages", k_array};
      case Slot::messages:
        return {"message", k_array};
      case Slot::anchors:
        return {"anchor", k_array};
      case Slot::anchor:
        return f.index == 0 ? std::pair{"anchor root", k_uint} : std::pair{"anchor edge", k_uint};
      case Slot::message:
        switch (f.index) {
          case 0:
            return {"kind", k_int};
          case 1:
            return {"task", k_int};
          default:
            break;
        }
        if (msg_.kind == MessageKind::tuple) {
          switch (f.index) {
            case 2:
              return {"component index", k_int};
            case 3:
              return {"stream index", k_int};
            case 4:
              return {"source task", k_int};
            case 5:
              return {"anchors", k_array};
            default:
              return {"values", k_array};
          }
        }
        switch (f.index) {
          case 2:
            return {"spout task", k_int};
          case 3:
            return {"root", k_uint};
          default:
            return {"value", k_uint};
        }
      case Slot::values:
      case Slot::list:
      case Slot::map:
        break;
    }
    return {"value", "a value"};
  }

  [[noreturn]] void wrong_field(const char* got) const {
    auto [name, what] = expected();
    malformed(std::string(name) + ": expected " + what + ", got " + got);
  }

  [[noreturn]] static void wrong_key(const char* got) {
    malformed(std::string("map key is ") + got + ", expected string");
  }

  [[noreturn]] void wrong(const char* got) const {
    if (place() == Place::key) wrong_key(got);
    wrong_field(got);
  }

  std::int64_t in_range(const Int& n, std::int64_t min, std::int64_t max) const {
    const bool ok =
        n.is_signed ? (n.i >= min && n.i <= max) : n.u <= static_cast<std::uint64_t>(max);
    if (!ok) {
      malformed(std::string(expected().first) + ": " +
                (n.is_signed ? std::to_string(n.i) : std::to_string(n.u)) + " is out of range");
    }
    return n.is_signed ? n.i : static_cast<std::int64_t>(n.u);
  }

  std::int32_t int32(const Int& n) const {
    return static_cast<std::int32_t>(in_range(n, std::numeric_limits<std::int32_t>::min(),
                                              std::numeric_limits<std::int32_t>::max()));
  }

  std::uint64_t uint64(const Int& n) const {
    if (!n.is_signed) return n.u;
    if (n.i < 0) wrong_field("negative int");
    return static_cast<std::uint64_t>(n.i);
  }

  bool scalar(Value v, const char* type) {
    if (place() != Place::value) wrong(type);
    deliver(std::move(v));
    return true;
  }

  bool integer(const Int& n, const char* type) {
    switch (place()) {
      case Place::value:
        // Values are int64; a larger unsigned integer was not written by Gale.
        if (!n.is_signed &&
            n.u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          malformed("integer " + std::to_string(n.u) + " is out of the int64 range");
        }
        deliver(Value(n.is_signed ? n.i : static_cast<std::int64_t>(n.u)));
        return true;
      case Place::key:
        wrong_key(type);
      case Place::field:
        field_integer(n, type);
        return true;
    }
    return true;
  }

  void field_integer(const Int& n, const char* type) {
    if (depth_ == 0) wrong_field(type);
    Frame& f = top();
    switch (f.slot) {
      case Slot::batch:
        if (f.index != 0) wrong_field(type);
        check_version(n, f.size);
        return;
      case Slot::anchor:
        (f.index == 0 ? anchor_.root : anchor_.edge) = uint64(n);
        return;
      case Slot::message:
        message_field(f, n, type);
        return;
      default:
        wrong_field(type);
    }
  }

  // The version is the first thing checked: a later version may change everything after it.
  void check_version(const Int& n, std::uint32_t batch_size) const {
    if (n.is_signed ? n.i != batch_format_version : n.u != batch_format_version) {
      throw Error("unsupported batch format version " +
                  (n.is_signed ? std::to_string(n.i) : std::to_string(n.u)) +
                  " (this build reads version " + std::to_string(batch_format_version) + ")");
    }
    if (batch_size != 2) {
      malformed("batch: expected [version, messages], got " + std::to_string(batch_size) +
                " elements");
    }
  }

  void message_field(Frame& f, const Int& n, const char* type) {
    switch (f.index) {
      case 0: {
        msg_.kind =
            static_cast<MessageKind>(in_range(n, 0, static_cast<std::int64_t>(k_last_kind)));
        const std::uint32_t want = msg_.kind == MessageKind::tuple  ? k_tuple_fields
                                   : msg_.kind == MessageKind::tick ? k_tick_fields
                                                                    : k_ack_fields;
        if (f.size != want) {
          malformed(std::string(kind_name(msg_.kind)) + " message: expected " +
                    std::to_string(want) + " fields, got " + std::to_string(f.size));
        }
        return;
      }
      case 1:
        msg_.task = int32(n);
        return;
      default:
        break;
    }
    if (msg_.kind == MessageKind::tuple) {
      switch (f.index) {
        case 2:
          component_ = int32(n);
          return;
        case 3: {
          const std::int32_t stream = int32(n);
          msg_.meta = (*resolve_)(component_, stream);
          if (msg_.meta == nullptr) {
            malformed("unknown stream (component index " + std::to_string(component_) +
                      ", stream index " + std::to_string(stream) + ")");
          }
          return;
        }
        case 4:
          msg_.source_task = int32(n);
          return;
        default:
          wrong_field(type);  // anchors and values are arrays
      }
    }
    switch (f.index) {
      case 2:
        msg_.spout_task = int32(n);
        return;
      case 3:
        msg_.root = uint64(n);
        return;
      default:
        msg_.value = uint64(n);
        return;
    }
  }

  void open_field(std::uint32_t size) {
    if (depth_ == 0) {
      if (values_out_ != nullptr) {
        push(Slot::values, size);
        values_ = values_out_;
        values_->reserve(std::min(size, k_max_list_reserve));
        return;
      }
      if (size == 0) malformed("batch: expected [version, messages], got an empty array");
      push(Slot::batch, size);
      return;
    }
    const Frame& f = top();
    switch (f.slot) {
      case Slot::batch:
        if (f.index != 1) break;
        push(Slot::messages, size);
        out_->reserve(out_->size() + plausible(size));
        return;
      case Slot::messages:
        if (size < 2) {
          malformed("message: expected at least [kind, task], got " + std::to_string(size) +
                    " elements");
        }
        current_message_ = f.index;
        msg_ = Message{};
        push(Slot::message, size);
        return;
      case Slot::anchors:
        if (size != 2) malformed("anchor: expected 2 elements, got " + std::to_string(size));
        push(Slot::anchor, size);
        return;
      case Slot::message:
        if (msg_.kind != MessageKind::tuple) break;
        if (f.index == 5) {
          push(Slot::anchors, size);
          msg_.anchors.reserve(plausible(size));
          return;
        }
        if (f.index == 6) {
          const detail::StreamMeta& meta = *msg_.meta;
          // Getters index values by the stream's fields; a tuple of another arity breaks them.
          if (size != meta.fields.size()) {
            malformed("tuple on " + meta.component + ":" + meta.stream + " has " +
                      std::to_string(size) + " values, the stream declares " +
                      std::to_string(meta.fields.size()) + " fields " + meta.fields.to_string());
          }
          push(Slot::values, size);
          values_ = &msg_.values;
          values_->reserve(size);
          return;
        }
        break;
      default:
        break;
    }
    wrong_field("array");
  }

  void open_value(Slot slot, std::uint32_t size) {
    if (value_depth_ == k_max_value_depth) malformed(k_too_deep);
    ++value_depth_;
    Frame& f = push(slot, size);
    if (slot == Slot::list) {
      f.list.clear();
      f.list.reserve(std::min(size, k_max_list_reserve));
    } else {
      f.map.clear();
    }
  }

  // Hands a finished value to the container it belongs to.
  void deliver(Value v) {
    Frame& f = top();
    switch (f.slot) {
      case Slot::values:
        values_->push_back(std::move(v));
        return;
      case Slot::list:
        f.list.push_back(std::move(v));
        return;
      case Slot::map: {
        // Gale writes keys in order, so the end hint makes each insert O(1); other orders work.
        auto hint = f.map.end();
        if (!f.map.empty() && !(std::prev(hint)->first < f.key)) {
          hint = f.map.lower_bound(f.key);
          if (hint != f.map.end() && hint->first == f.key) {
            // Keeping one of two values would silently lose data: the sender is broken.
            malformed("duplicate map key \"" + f.key + "\"");
          }
        }
        f.map.emplace_hint(hint, std::move(f.key), std::move(v));
        return;
      }
      default:
        break;
    }
    malformed("internal: a value outside a value container");  // unreachable: place() checked
  }

  void finish_message() {
    if (msg_.kind == MessageKind::tick) complete_tick(msg_);
    out_->push_back(std::move(msg_));
    current_message_ = -1;
  }

  // Constant after construction.
  std::string_view input_;
  const StreamResolver* resolve_ = nullptr;  // batch mode
  std::vector<Message>* out_ = nullptr;      // batch mode
  Values* values_out_ = nullptr;             // values mode

  // Parse state.
  std::vector<Frame> frames_;
  std::size_t depth_ = 0;        // frames in use
  std::size_t value_depth_ = 0;  // list and map frames in use
  std::optional<std::size_t> parse_error_offset_;
  std::int64_t current_message_ = -1;
  Message msg_;                 // message being read
  std::int32_t component_ = 0;  // its component index, until the stream index
  detail::Anchor anchor_{};     // anchor being read
  Values* values_ = nullptr;    // where the open values frame puts its values
};

}  // namespace

Values decode_values(std::string_view bytes) {
  Values values;
  Decoder decoder(bytes, values);
  try {
    decoder.run();
  } catch (const Malformed& e) {
    throw Error("malformed values: " + decoder.where() + e.what);
  }
  return values;
}

void decode_batch(std::string_view bytes, const StreamResolver& resolve,
                  std::vector<wire::Message>& out) {
  if (detail_decode::decode_batch_fast(bytes, resolve, out)) return;
  detail_decode::decode_batch_generic(bytes, resolve, out);
}

void detail_decode::decode_batch_generic(std::string_view bytes, const StreamResolver& resolve,
                                         std::vector<wire::Message>& out) {
  const std::size_t old_size = out.size();
  Decoder decoder(bytes, resolve, out);
  try {
    decoder.run();
  } catch (const Malformed& e) {
    // "on throw, out holds none of the batch"
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(old_size), out.end());
    throw Error("malformed batch: " + decoder.where() + e.what);
  } catch (...) {
    // gale::Error for a version mismatch, or whatever the resolver threw.
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(old_size), out.end());
    throw;
  }
}

}  // namespace gale::wire
