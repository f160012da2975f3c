// libFuzzer target: the tuple batch decoders (wire/codec.hpp). For any bytes:
// - decode_batch_fast either accepts, or declines leaving `out` as it was;
// - decode_batch_generic either decodes, or throws gale::Error leaving `out` as it was;
// - when the fast path accepts, the generic decoder accepts too and decodes the same messages;
// - decode_batch agrees with the generic decoder;
// - an accepted batch re-encodes to bytes that decode to the same messages;
// - a sender stamp (the 21 bytes in front of a batch on the wire) read from the input writes back
//   to the same bytes.
// Anything else escaping (another exception type, a crash, a sanitizer report) is a finding.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gale/errors.hpp>
#include <gale/value.hpp>

#include "tests/fuzz/fuzz_support.hpp"
#include "wire/codec.hpp"
#include "wire/stamp.hpp"

namespace {

using gale::Value;
using gale::wire::Message;

// Exact equality: doubles compare by bit pattern (0.0 and -0.0, and NaN payloads, differ), unlike
// Value's operator==.
bool same_value(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::floating:
      return std::bit_cast<std::uint64_t>(a.as_double()) ==
             std::bit_cast<std::uint64_t>(b.as_double());
    case Value::Type::list: {
      const gale::List& x = a.as_list();
      const gale::List& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!same_value(x[i], y[i])) return false;
      }
      return true;
    }
    case Value::Type::map: {
      const gale::Map& x = a.as_map();
      const gale::Map& y = b.as_map();
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (i->first != j->first || !same_value(i->second, j->second)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

bool same_message(const Message& a, const Message& b) {
  if (a.kind != b.kind || a.task != b.task || a.spout_task != b.spout_task ||
      a.source_task != b.source_task || a.root != b.root || a.value != b.value ||
      a.meta != b.meta || !(a.anchors == b.anchors) || a.values.size() != b.values.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    if (!same_value(a.values[i], b.values[i])) return false;
  }
  return true;
}

bool same_messages(const std::vector<Message>& a, const std::vector<Message>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same_message(a[i], b[i])) return false;
  }
  return true;
}

// A message already in `out` before the decode: every decoder must leave it alone.
Message sentinel() {
  return gale::wire::control_message(gale::wire::MessageKind::acker_ack, 7, 3, 0x1234, 0x5678);
}

bool only_sentinel(const std::vector<Message>& out) {
  return out.size() == 1 && same_message(out[0], sentinel());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const gale::fuzz::Streams streams;
  static const gale::wire::StreamResolver resolve = streams.resolver();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  namespace dd = gale::wire::detail_decode;

  if (const auto stamp = gale::wire::read_stamp(bytes)) {
    char again[gale::wire::stamp_size];
    gale::wire::write_stamp(*stamp, again);
    FUZZ_CHECK(std::string_view(again, sizeof again) == bytes.substr(0, gale::wire::stamp_size));
  }

  std::vector<Message> fast{sentinel()};
  const bool fast_ok = dd::decode_batch_fast(bytes, resolve, fast);
  if (!fast_ok) FUZZ_CHECK(only_sentinel(fast));

  std::vector<Message> generic{sentinel()};
  bool generic_ok = true;
  try {
    dd::decode_batch_generic(bytes, resolve, generic);
  } catch (const gale::Error&) {
    generic_ok = false;
    FUZZ_CHECK(only_sentinel(generic));
  }
  FUZZ_CHECK(!generic_ok || (!generic.empty() && same_message(generic[0], sentinel())));
  if (fast_ok) {
    FUZZ_CHECK(generic_ok);  // the fast path accepts only what the generic decoder accepts
    FUZZ_CHECK(same_messages(fast, generic));
  }

  std::vector<Message> combined{sentinel()};
  try {
    gale::wire::decode_batch(bytes, resolve, combined);
    FUZZ_CHECK(generic_ok);
    FUZZ_CHECK(same_messages(combined, generic));
  } catch (const gale::Error&) {
    FUZZ_CHECK(!generic_ok);
    FUZZ_CHECK(only_sentinel(combined));
  }

  if (generic_ok) {
    // What was accepted encodes again, and the encoding decodes to the same messages.
    generic.erase(generic.begin());
    const std::string again = gale::wire::encode_batch(generic);
    std::vector<Message> decoded;
    dd::decode_batch_generic(again, resolve, decoded);
    FUZZ_CHECK(same_messages(decoded, generic));
  }
  return 0;
}
