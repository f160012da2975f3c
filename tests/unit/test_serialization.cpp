#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include <gale/errors.hpp>
#include <gale/tuple.hpp>
#include <gale/value.hpp>

#include "wire/codec.hpp"

using gale::Bytes;
using gale::Fields;
using gale::List;
using gale::Map;
using gale::Value;
using gale::Values;
using gale::detail::Anchor;
using gale::detail::StreamMeta;
using gale::wire::Message;
using gale::wire::MessageKind;

namespace {

// The streams a test "topology" declares, resolved the way the runtime's plan would.
struct Streams {
  StreamMeta sentences{"sentences", "default", Fields{"sentence"}, 0, 0};
  StreamMeta words{"split", "default", Fields{"word", "count"}, 1, 0};
  StreamMeta errors{"split", "errors", Fields{"error"}, 1, 1};
  StreamMeta empty{"split", "signal", Fields{}, 1, 2};

  gale::wire::StreamResolver resolver() const {
    return [this](std::int32_t component, std::int32_t stream) -> const StreamMeta* {
      for (const StreamMeta* m : {&sentences, &words, &errors, &empty}) {
        if (m->component_index == component && m->stream_index == stream) return m;
      }
      return nullptr;
    };
  }
};

// The tuple part of a message.
struct TupleParts {
  const StreamMeta* meta;
  Values values;
  std::int32_t source_task;
  gale::detail::AnchorList anchors;
};

TupleParts make_tuple(const StreamMeta& meta, Values values, std::int32_t source_task,
                      gale::detail::AnchorList anchors = {}) {
  return TupleParts{&meta, std::move(values), source_task, std::move(anchors)};
}

Message tuple_message(std::int32_t task, TupleParts tuple) {
  Message m;
  m.kind = MessageKind::tuple;
  m.task = task;
  m.meta = tuple.meta;
  m.values = std::move(tuple.values);
  m.source_task = tuple.source_task;
  m.anchors = std::move(tuple.anchors);
  return m;
}

Message ack_message(MessageKind kind, std::int32_t task, std::int32_t spout_task,
                    std::uint64_t root, std::uint64_t value) {
  return gale::wire::control_message(kind, task, spout_task, root, value);
}

// Compares two messages field by field (Tuple's operator== compares handles, not content).
void check_same(const Message& got, const Message& want) {
  CHECK(got.kind == want.kind);
  CHECK(got.task == want.task);
  if (want.kind == MessageKind::tuple) {
    CHECK(got.meta == want.meta);  // resolved to the very same stream object
    CHECK(got.values == want.values);
    CHECK(got.source_task == want.source_task);
    CHECK(got.anchors == want.anchors);
  } else if (want.kind == MessageKind::tick) {
    REQUIRE(got.meta != nullptr);
    CHECK(got.meta->component == "__system");
    CHECK(got.meta->stream == "__tick");
    CHECK(got.values.empty());
  } else {
    CHECK(got.spout_task == want.spout_task);
    CHECK(got.root == want.root);
    CHECK(got.value == want.value);
    CHECK(got.meta == nullptr);
    CHECK(got.values.empty());
  }
}

std::vector<Message> sample_batch(const Streams& s) {
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max();
  std::vector<Message> batch;
  batch.push_back(
      tuple_message(3, make_tuple(s.words, {"the", 1}, 2, {{big, 0x1234}, {7, big}, {9, 10}})));
  batch.push_back(tuple_message(0, make_tuple(s.sentences, {"the cow jumped"}, 9)));
  batch.push_back(
      tuple_message(4, make_tuple(s.errors, {Map{{"code", 5}, {"why", List{"x"}}}}, 2, {{1, 2}})));
  batch.push_back(tuple_message(5, make_tuple(s.empty, {}, 1)));
  Message tick;
  tick.kind = MessageKind::tick;
  tick.task = 6;
  batch.push_back(tick);
  batch.push_back(ack_message(MessageKind::acker_init, 10, 2, big, 0xdeadbeefcafef00dULL));
  batch.push_back(ack_message(MessageKind::acker_ack, 10, 0, 42, big - 1));
  batch.push_back(ack_message(MessageKind::acker_fail, 11, 0, 43, 0));
  batch.push_back(ack_message(MessageKind::spout_ack, 2, 2, 44, 0));
  batch.push_back(ack_message(MessageKind::spout_fail, 2, 2, 45, 0));
  return batch;
}

// Packs raw msgpack for hand-made (usually malformed) inputs.
struct Raw {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk{buffer};
  std::string str() const { return std::string(buffer.data(), buffer.size()); }
};

// The message of the gale::Error `f` throws; fails the test on no exception or another type.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const gale::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a gale::Error: " << e.what());
  }
  FAIL("no exception");
  return {};
}

std::string decode_error(const std::string& bytes) {
  Streams s;
  std::vector<Message> out;
  return error_of([&] { gale::wire::decode_batch(bytes, s.resolver(), out); });
}

Value nested_list(int depth) {
  Value v = 1;
  for (int i = 0; i < depth; ++i) v = Value(List{v});
  return v;
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("values: every kind round trips with its type") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Values values = {
        Value(),
        true,
        false,
        0,
        1,
        -1,
        127,
        128,
        -32,
        -33,
        65536,
        std::numeric_limits<std::int64_t>::min(),
        std::numeric_limits<std::int64_t>::max(),
        std::int64_t{std::numeric_limits<std::int32_t>::min()} - 1,
        0.0,
        1.0,
        -2.5,
        0.1,
        std::numeric_limits<double>::max(),
        std::numeric_limits<double>::denorm_min(),
        std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(),
        nan,
        "",
        "héllo ✓ 日本 🙂",
        std::string("a\0b\0", 4),
        std::string(100000, 'x'),
        Bytes{},
        Bytes{0, 1, 127, 128, 255},
        List{},
        List{1, "two", List{3.0, List{}}, Map{{"k", Bytes{9}}}},
        Map{},
        Map{{"", 1}, {"a", Map{{"b", List{Value(), false}}}}, {"ü", "v"}},
    };
    const Values decoded = gale::wire::decode_values(gale::wire::encode_values(values));
    REQUIRE(decoded.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      CAPTURE(i);
      CAPTURE(values[i].to_string().substr(0, 80));
      CHECK(decoded[i].type() == values[i].type());
      CHECK(decoded[i] == values[i]);
    }
    CHECK(decoded[1].is_bool());
    CHECK(decoded[15].is_double());  // 1.0 stays a double
    CHECK(decoded[4].is_int());      // 1 stays an int
  }

  TEST_CASE("values: signed zero and empty lists survive") {
    const Values decoded = gale::wire::decode_values(gale::wire::encode_values({-0.0, List{}}));
    REQUIRE(decoded.size() == 2);
    CHECK(std::signbit(decoded[0].as_double()));
    CHECK(decoded[1].as_list().empty());
    CHECK(gale::wire::decode_values(gale::wire::encode_values({})).empty());
  }

  TEST_CASE("values: the encoding is compact msgpack") {
    // fixarray(1) + positive fixint: integers take their shortest form.
    CHECK(gale::wire::encode_values({1}) == std::string("\x91\x01", 2));
    CHECK(gale::wire::encode_values({-1}) == std::string("\x91\xff", 2));
    CHECK(gale::wire::encode_values({"ab"}) == std::string("\x91\xa2"
                                                           "ab",
                                                           4));
    CHECK(gale::wire::encode_values({Bytes{7}}) == std::string("\x91\xc4\x01\x07", 4));
    CHECK(gale::wire::encode_values({Value()}) == std::string("\x91\xc0", 2));
    CHECK(gale::wire::encode_values({1.5}).size() == 1 + 9);  // always float64
    // Even an integral double: msgpack-c's pack_double would write 1.0 as the integer 1.
    CHECK(gale::wire::encode_values({1.0}) ==
          std::string("\x91\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 10));
  }

  TEST_CASE("values: nesting up to the limit works, beyond it is refused both ways") {
    const Values deep = {nested_list(64)};
    CHECK(gale::wire::decode_values(gale::wire::encode_values(deep)) == deep);
    CHECK(error_of([] { (void)gale::wire::encode_values({nested_list(65)}); }).find("deeper") !=
          std::string::npos);
    Raw raw;
    raw.pk.pack_array(1);
    for (int i = 0; i < 65; ++i) raw.pk.pack_array(1);
    raw.pk.pack_int(1);
    const std::string msg = error_of([&] { (void)gale::wire::decode_values(raw.str()); });
    CHECK(msg.find("malformed values") != std::string::npos);
    CHECK(msg.find("deeper") != std::string::npos);
  }

  TEST_CASE("values: malformed inputs are rejected with a precise message") {
    CHECK(error_of([] { (void)gale::wire::decode_values(""); }).find("empty input") !=
          std::string::npos);
    CHECK(error_of([] {
            (void)gale::wire::decode_values(std::string("\x91\x01\x01", 3));
          }).find("1 trailing bytes") != std::string::npos);
    CHECK(error_of([] {
            (void)gale::wire::decode_values(std::string("\x92\x01", 2));
          }).find("truncated") != std::string::npos);
    CHECK(error_of([] {
            (void)gale::wire::decode_values(std::string("\x01", 1));
          }).find("expected an array, got unsigned int") != std::string::npos);
    CHECK(error_of([] {
            (void)gale::wire::decode_values(std::string("\x91\xc1", 2));
          }).find("invalid msgpack byte") != std::string::npos);
    {
      Raw raw;  // [{1: 2}]
      raw.pk.pack_array(1);
      raw.pk.pack_map(1);
      raw.pk.pack_int(1);
      raw.pk.pack_int(2);
      CHECK(error_of([&] {
              (void)gale::wire::decode_values(raw.str());
            }).find("value 0: map key is unsigned int, expected string") != std::string::npos);
    }
    {
      Raw raw;  // [{"a": 1, "a": 2}]
      raw.pk.pack_array(1);
      raw.pk.pack_map(2);
      raw.pk.pack(std::string("a"));
      raw.pk.pack_int(1);
      raw.pk.pack(std::string("a"));
      raw.pk.pack_int(2);
      CHECK(error_of([&] {
              (void)gale::wire::decode_values(raw.str());
            }).find("duplicate map key \"a\"") != std::string::npos);
    }
    {
      Raw raw;  // [uint64 max]: not an int64
      raw.pk.pack_array(1);
      raw.pk.pack_uint64(std::numeric_limits<std::uint64_t>::max());
      CHECK(error_of([&] {
              (void)gale::wire::decode_values(raw.str());
            }).find("18446744073709551615 is out of the int64 range") != std::string::npos);
    }
    {
      Raw raw;  // [ext]
      raw.pk.pack_array(1);
      raw.pk.pack_ext(1, 5);
      raw.pk.pack_ext_body("\x01", 1);
      CHECK(error_of([&] { (void)gale::wire::decode_values(raw.str()); }).find("ext") !=
            std::string::npos);
    }
  }

  TEST_CASE("values: keys written out of order are still read") {
    Raw raw;  // [{"b": 1, "a": 2}]
    raw.pk.pack_array(1);
    raw.pk.pack_map(2);
    raw.pk.pack(std::string("b"));
    raw.pk.pack_int(1);
    raw.pk.pack(std::string("a"));
    raw.pk.pack_int(2);
    const Values v = gale::wire::decode_values(raw.str());
    CHECK(v == Values{Map{{"a", 2}, {"b", 1}}});
  }

  TEST_CASE("values: float32 from another writer reads as a double") {
    Raw raw;
    raw.pk.pack_array(1);
    raw.pk.pack_float(0.5F);
    CHECK(gale::wire::decode_values(raw.str()) == Values{0.5});
  }

  TEST_CASE("values: huge declared sizes neither allocate nor crash") {
    // Each header claims 2^24 elements (the limit) and none follow: the decoder must see the
    // truncation before allocating 60 x 2^24 elements.
    Raw raw;
    for (int i = 0; i < 60; ++i) raw.pk.pack_array(1U << 24);
    CHECK(error_of([&] { (void)gale::wire::decode_values(raw.str()); }).find("truncated") !=
          std::string::npos);
    Raw over;
    over.pk.pack_array(1U << 25);
    CHECK(error_of([&] {
            (void)gale::wire::decode_values(over.str());
          }).find("exceeds the limit") != std::string::npos);
    Raw str;
    str.pk.pack_array(1);
    str.pk.pack_str(0xFFFFFFFFU);
    CHECK(error_of([&] { (void)gale::wire::decode_values(str.str()); }).find("truncated") !=
          std::string::npos);
  }

  TEST_CASE("batch: every message kind round trips, with anchors") {
    Streams s;
    const std::vector<Message> batch = sample_batch(s);
    const std::string bytes = gale::wire::encode_batch(batch);
    std::vector<Message> out;
    out.push_back(ack_message(MessageKind::spout_ack, 99, 0, 1, 1));  // decode appends
    gale::wire::decode_batch(bytes, s.resolver(), out);
    REQUIRE(out.size() == batch.size() + 1);
    CHECK(out[0].task == 99);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      CAPTURE(i);
      check_same(out[i + 1], batch[i]);
    }
    // A decoded tuple carries its stream's fields, as the bolt's getters need.
    REQUIRE(out[1].meta != nullptr);
    CHECK(out[1].values[out[1].meta->fields.index("word")].as_string() == "the");
    CHECK(out[1].values[out[1].meta->fields.index("count")].as_int() == 1);
    CHECK(out[1].source_task == 2);
  }

  TEST_CASE("batch: empty batch and the layout's first bytes") {
    Streams s;
    const std::string bytes = gale::wire::encode_batch({});
    // [1, []]: the version is the first element.
    CHECK(bytes == std::string("\x92\x01\x90", 3));
    std::vector<Message> out;
    gale::wire::decode_batch(bytes, s.resolver(), out);
    CHECK(out.empty());
  }

  TEST_CASE("batch: small messages stay small") {
    Streams s;
    std::vector<Message> one{tuple_message(3, make_tuple(s.words, {"the", 1}, 2, {{1, 2}}))};
    // 3 batch header + 1 array + 5 small ints + anchors 1+1+2 + values 1+4+1
    CHECK(gale::wire::encode_batch(one).size() <= 20);
    std::vector<Message> ack{ack_message(MessageKind::acker_ack, 1, 0, 5, 6)};
    CHECK(gale::wire::encode_batch(ack).size() <= 10);
  }

  TEST_CASE("batch: a tuple message without a stream cannot be encoded") {
    Message m;
    m.kind = MessageKind::tuple;
    std::vector<Message> batch{m};
    CHECK(error_of([&] {
            (void)gale::wire::encode_batch(batch);
          }).find("message 0 is a tuple message without a stream") != std::string::npos);
  }

  TEST_CASE("batch: a wrong version is rejected") {
    Raw raw;
    raw.pk.pack_array(2);
    raw.pk.pack_int(2);
    raw.pk.pack_array(0);
    CHECK(decode_error(raw.str()) ==
          "unsupported batch format version 2 (this build reads version 1)");
  }

  TEST_CASE("batch: an unknown kind is rejected") {
    Raw raw;
    raw.pk.pack_array(2);
    raw.pk.pack_int(1);
    raw.pk.pack_array(1);
    raw.pk.pack_array(2);
    raw.pk.pack_int(7);  // one past spout_fail
    raw.pk.pack_int(0);
    const std::string msg = decode_error(raw.str());
    CHECK(msg.find("malformed batch: message 0: kind: 7 is out of range") != std::string::npos);
  }

  TEST_CASE("batch: an unknown stream is rejected") {
    Streams s;
    StreamMeta stranger{"ghost", "default", Fields{"x"}, 7, 3};
    std::vector<Message> batch{
        ack_message(MessageKind::acker_ack, 1, 0, 5, 6),
        tuple_message(1, make_tuple(stranger, {1}, 0)),
    };
    const std::string msg = decode_error(gale::wire::encode_batch(batch));
    CHECK(msg.find("message 1: unknown stream (component index 7, stream index 3)") !=
          std::string::npos);
  }

  TEST_CASE("batch: arity, field count and ranges are checked") {
    Streams s;
    // A tuple with 3 values on a 2-field stream.
    StreamMeta wide{"split", "default", Fields{"a", "b", "c"}, 1, 0};
    std::vector<Message> batch{tuple_message(1, make_tuple(wide, {1, 2, 3}, 0))};
    CHECK(decode_error(gale::wire::encode_batch(batch))
              .find("tuple on split:default has 3 values, the stream declares 2 fields "
                    "[word, count]") != std::string::npos);
    {
      Raw raw;  // an ack message with 3 fields instead of 5
      raw.pk.pack_array(2);
      raw.pk.pack_int(1);
      raw.pk.pack_array(1);
      raw.pk.pack_array(3);
      raw.pk.pack_int(static_cast<int>(MessageKind::acker_ack));
      raw.pk.pack_int(0);
      raw.pk.pack_int(0);
      CHECK(decode_error(raw.str()).find("acker_ack message: expected 5 fields, got 3") !=
            std::string::npos);
    }
    {
      Raw raw;  // task beyond int32
      raw.pk.pack_array(2);
      raw.pk.pack_int(1);
      raw.pk.pack_array(1);
      raw.pk.pack_array(2);
      raw.pk.pack_int(static_cast<int>(MessageKind::tick));
      raw.pk.pack_int64(std::int64_t{1} << 40);
      CHECK(decode_error(raw.str()).find("task: 1099511627776 is out of range") !=
            std::string::npos);
    }
    {
      Raw raw;  // a negative root
      raw.pk.pack_array(2);
      raw.pk.pack_int(1);
      raw.pk.pack_array(1);
      raw.pk.pack_array(5);
      raw.pk.pack_int(static_cast<int>(MessageKind::spout_ack));
      raw.pk.pack_int(0);
      raw.pk.pack_int(0);
      raw.pk.pack_int(-1);
      raw.pk.pack_int(0);
      CHECK(decode_error(raw.str()).find("root: expected an unsigned integer, got negative int") !=
            std::string::npos);
    }
    {
      Raw raw;  // a batch that is not [version, messages]
      raw.pk.pack_array(3);
      raw.pk.pack_int(1);
      raw.pk.pack_array(0);
      raw.pk.pack_nil();
      CHECK(decode_error(raw.str()).find("expected [version, messages], got 3 elements") !=
            std::string::npos);
    }
  }

  TEST_CASE("batch: each structural position checks its type") {
    {
      Raw raw;  // a bare integer instead of the batch
      raw.pk.pack_int(1);
      CHECK(decode_error(raw.str()) ==
            "malformed batch: batch: expected an array, got unsigned int");
    }
    {
      Raw raw;  // a message that is a map
      raw.pk.pack_array(2);
      raw.pk.pack_int(1);
      raw.pk.pack_array(1);
      raw.pk.pack_map(0);
      CHECK(decode_error(raw.str()) == "malformed batch: message: expected an array, got map");
    }
    {
      Raw raw;  // a tuple whose values are a map
      raw.pk.pack_array(2);
      raw.pk.pack_int(1);
      raw.pk.pack_array(1);
      raw.pk.pack_array(7);
      for (int v : {0, 3, 1, 0, 2}) raw.pk.pack_int(v);
      raw.pk.pack_array(0);
      raw.pk.pack_map(0);
      CHECK(decode_error(raw.str()) ==
            "malformed batch: message 0: values: expected an array, got map");
    }
    {
      Raw raw;  // an anchor of 3 ids
      raw.pk.pack_array(2);
      raw.pk.pack_int(1);
      raw.pk.pack_array(1);
      raw.pk.pack_array(7);
      for (int v : {0, 3, 1, 0, 2}) raw.pk.pack_int(v);
      raw.pk.pack_array(1);
      raw.pk.pack_array(3);
      CHECK(decode_error(raw.str()) ==
            "malformed batch: message 0: anchor: expected 2 elements, got 3");
    }
    {
      Raw raw;  // a string where the task goes
      raw.pk.pack_array(2);
      raw.pk.pack_int(1);
      raw.pk.pack_array(1);
      raw.pk.pack_array(2);
      raw.pk.pack_int(static_cast<int>(MessageKind::tick));
      raw.pk.pack(std::string("3"));
      CHECK(decode_error(raw.str()) ==
            "malformed batch: message 0: task: expected an integer, got string");
    }
  }

  TEST_CASE("batch: errors inside a value name the message and the value") {
    Raw raw;  // tuple on split:default ["the", {[]: 1}]
    raw.pk.pack_array(2);
    raw.pk.pack_int(1);
    raw.pk.pack_array(1);
    raw.pk.pack_array(7);
    for (int v : {0, 3, 1, 0, 2}) raw.pk.pack_int(v);
    raw.pk.pack_array(0);
    raw.pk.pack_array(2);
    raw.pk.pack(std::string("the"));
    raw.pk.pack_map(1);
    raw.pk.pack_array(0);
    raw.pk.pack_int(1);
    CHECK(decode_error(raw.str()) ==
          "malformed batch: message 0: value 1: map key is array, expected string");
  }

  TEST_CASE("batch: integers of any msgpack width are read") {
    Streams s;
    Raw raw;  // a spout_ack written by another encoder: signed and wide forms of small numbers
    raw.pk.pack_array(2);
    raw.pk.pack_fix_uint64(1);
    raw.pk.pack_array(1);
    raw.pk.pack_array(5);
    raw.pk.pack_fix_int8(static_cast<std::int8_t>(MessageKind::spout_ack));
    raw.pk.pack_fix_int32(12);
    raw.pk.pack_fix_int64(3);
    raw.pk.pack_fix_uint32(44);
    raw.pk.pack_fix_int16(5);
    std::vector<Message> out;
    gale::wire::decode_batch(raw.str(), s.resolver(), out);
    REQUIRE(out.size() == 1);
    check_same(out[0], ack_message(MessageKind::spout_ack, 12, 3, 44, 5));
  }

  TEST_CASE("batch: trailing bytes are rejected") {
    Streams s;
    std::string bytes = gale::wire::encode_batch(sample_batch(s));
    bytes += '\0';
    CHECK(decode_error(bytes).find("1 trailing bytes") != std::string::npos);
  }

  TEST_CASE("batch: every truncation of a valid batch is rejected, leaving out untouched") {
    Streams s;
    const std::string bytes = gale::wire::encode_batch(sample_batch(s));
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      CAPTURE(len);
      std::vector<Message> out(1);
      bool threw = false;
      try {
        gale::wire::decode_batch(std::string_view(bytes).substr(0, len), s.resolver(), out);
      } catch (const gale::Error&) {
        threw = true;
      }
      CHECK(threw);
      CHECK(out.size() == 1);
    }
  }

  TEST_CASE("batch: a failure late in the batch leaves out without any of it") {
    Streams s;
    std::vector<Message> batch = sample_batch(s);
    StreamMeta stranger{"ghost", "default", Fields{"x"}, 7, 3};
    batch.push_back(tuple_message(1, make_tuple(stranger, {1}, 0)));
    std::vector<Message> out(2);
    CHECK_THROWS_AS(gale::wire::decode_batch(gale::wire::encode_batch(batch), s.resolver(), out),
                    gale::Error);
    CHECK(out.size() == 2);
  }

  TEST_CASE("values: the encoder writes msgpack-c's shortest forms at every size boundary") {
    const std::int64_t big = std::numeric_limits<std::int64_t>::max();
    const std::int64_t small = std::numeric_limits<std::int64_t>::min();
    for (std::int64_t v : {std::int64_t{0},
                           std::int64_t{1},
                           std::int64_t{127},
                           std::int64_t{128},
                           std::int64_t{255},
                           std::int64_t{256},
                           std::int64_t{65535},
                           std::int64_t{65536},
                           std::int64_t{4294967295},
                           std::int64_t{4294967296},
                           big,
                           std::int64_t{-1},
                           std::int64_t{-32},
                           std::int64_t{-33},
                           std::int64_t{-128},
                           std::int64_t{-129},
                           std::int64_t{-32768},
                           std::int64_t{-32769},
                           std::int64_t{-2147483648},
                           std::int64_t{-2147483649},
                           small}) {
      CAPTURE(v);
      Raw raw;
      raw.pk.pack_array(1);
      raw.pk.pack_int64(v);
      CHECK(gale::wire::encode_values({v}) == raw.str());
    }
    for (std::size_t n : {0, 15, 16, 31, 32, 255, 256, 65535, 65536}) {
      CAPTURE(n);
      const std::string text(n, 'x');
      const Bytes bytes(n, 7);
      List list(n, Value(1));
      Map map;
      for (std::size_t i = 0; i < std::min<std::size_t>(n, 300); ++i)
        map["k" + std::to_string(i)] = 1;
      Raw raw;
      raw.pk.pack_array(4);
      raw.pk.pack_str(static_cast<std::uint32_t>(n));
      raw.pk.pack_str_body(text.data(), static_cast<std::uint32_t>(n));
      raw.pk.pack_bin(static_cast<std::uint32_t>(n));
      raw.pk.pack_bin_body(reinterpret_cast<const char*>(bytes.data()),
                           static_cast<std::uint32_t>(n));
      raw.pk.pack_array(static_cast<std::uint32_t>(n));
      for (std::size_t i = 0; i < n; ++i) raw.pk.pack_int64(1);
      raw.pk.pack_map(static_cast<std::uint32_t>(map.size()));
      for (const auto& [key, value] : map) {
        raw.pk.pack_str(static_cast<std::uint32_t>(key.size()));
        raw.pk.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
        raw.pk.pack_int64(1);
      }
      CHECK(gale::wire::encode_values({text, bytes, list, map}) == raw.str());
    }
  }

  TEST_CASE("batch: the fast decoder agrees with the generic one") {
    namespace dd = gale::wire::detail_decode;
    Streams s;
    std::mt19937_64 rng(99);
    auto random_text = [&](std::size_t max) {
      std::string t(rng() % (max + 1), '\0');
      for (char& c : t) c = static_cast<char>('a' + rng() % 26);
      return t;
    };
    auto random_scalar = [&]() -> Value {
      switch (rng() % 7) {
        case 0:
          return Value();
        case 1:
          return Value(rng() % 2 == 0);
        case 2:
          return Value(static_cast<std::int64_t>(rng()) >> (rng() % 64));
        case 3:
          return Value(static_cast<double>(static_cast<std::int64_t>(rng())) / 7.0);
        case 4:
          return Value(random_text(40));
        case 5:
          return Value(random_text(70000));  // str32
        default: {
          const std::string t = random_text(300);  // bin16
          return Value(Bytes(t.begin(), t.end()));
        }
      }
    };
    auto random_batch = [&] {
      std::vector<Message> batch;
      const std::size_t n = rng() % 40;
      for (std::size_t i = 0; i < n; ++i) {
        const auto task = static_cast<std::int32_t>(rng() % 3 == 0 ? rng() : rng() % 100);
        switch (rng() % 5) {
          case 0: {
            gale::detail::AnchorList anchors;
            for (std::uint64_t a = rng() % 4; a > 0; --a)
              anchors.push_back({rng(), rng() >> (rng() % 64)});
            batch.push_back(tuple_message(
                task, make_tuple(s.words, {random_text(12), random_scalar()},
                                 static_cast<std::int32_t>(rng() % 9), std::move(anchors))));
            break;
          }
          case 1:
            batch.push_back(tuple_message(task, make_tuple(s.errors, {random_scalar()}, 1)));
            break;
          case 2: {
            Message tick;
            tick.kind = MessageKind::tick;
            tick.task = task;
            batch.push_back(tick);
            break;
          }
          default:
            batch.push_back(ack_message(static_cast<MessageKind>(2 + rng() % 5), task,
                                        static_cast<std::int32_t>(rng() % 50), rng(),
                                        rng() >> (rng() % 64)));
        }
      }
      return batch;
    };
    for (int round = 0; round < 300; ++round) {
      CAPTURE(round);
      const std::vector<Message> batch = random_batch();
      const std::string bytes = gale::wire::encode_batch(batch);
      std::vector<Message> fast, generic;
      REQUIRE(dd::decode_batch_fast(bytes, s.resolver(), fast));
      dd::decode_batch_generic(bytes, s.resolver(), generic);
      REQUIRE(fast.size() == batch.size());
      REQUIRE(generic.size() == batch.size());
      for (std::size_t i = 0; i < batch.size(); ++i) {
        check_same(fast[i], batch[i]);
        check_same(fast[i], generic[i]);
      }
      // Corrupted copies: whatever the fast path accepts, the generic one accepts the same way.
      for (int flip = 0; flip < 30 && !bytes.empty(); ++flip) {
        std::string bad = bytes;
        for (int f = 1 + static_cast<int>(rng() % 3); f > 0; --f) {
          bad[rng() % bad.size()] = static_cast<char>(rng());
        }
        std::vector<Message> got_fast, got_generic;
        got_fast.push_back(ack_message(MessageKind::spout_ack, 1, 0, 1, 1));  // must stay alone
        const bool fast_ok = dd::decode_batch_fast(bad, s.resolver(), got_fast);
        bool generic_ok = true;
        try {
          dd::decode_batch_generic(bad, s.resolver(), got_generic);
        } catch (const gale::Error&) {
          generic_ok = false;
        }
        if (!fast_ok) {
          CHECK(got_fast.size() == 1);
          continue;
        }
        REQUIRE(generic_ok);
        REQUIRE(got_fast.size() == got_generic.size() + 1);
        for (std::size_t i = 0; i < got_generic.size(); ++i) {
          CHECK(got_fast[i + 1].kind == got_generic[i].kind);
          CHECK(got_fast[i + 1].task == got_generic[i].task);
          CHECK(got_fast[i + 1].spout_task == got_generic[i].spout_task);
          CHECK(got_fast[i + 1].source_task == got_generic[i].source_task);
          CHECK(got_fast[i + 1].root == got_generic[i].root);
          CHECK(got_fast[i + 1].value == got_generic[i].value);
          CHECK(got_fast[i + 1].meta == got_generic[i].meta);
          CHECK(got_fast[i + 1].values == got_generic[i].values);
          CHECK(got_fast[i + 1].anchors == got_generic[i].anchors);
        }
      }
    }
    // Lists and maps are the generic decoder's: the fast one declines, leaving `out` alone.
    const std::string nested = gale::wire::encode_batch(sample_batch(s));
    std::vector<Message> out;
    CHECK_FALSE(dd::decode_batch_fast(nested, s.resolver(), out));
    CHECK(out.empty());
    // Encodings Gale does not write but msgpack allows (fixed-width ints, float32, str8, array16)
    // decode alike on both paths.
    Raw raw;
    raw.pk.pack_array(2);
    raw.pk.pack_fix_uint64(gale::wire::batch_format_version);
    raw.pk.pack_array(1);
    raw.buffer.write("\xdc\x00\x07", 3);  // array16 of 7: a tuple message
    raw.pk.pack_fix_int8(0);
    raw.pk.pack_fix_int64(3);
    raw.pk.pack_fix_uint32(1);
    raw.pk.pack_fix_int16(0);
    raw.pk.pack_fix_int32(-2);
    raw.pk.pack_array(1);
    raw.pk.pack_array(2);
    raw.pk.pack_fix_uint8(1);
    raw.pk.pack_fix_int64(2);
    raw.pk.pack_array(2);
    raw.buffer.write("\xd9\x03the", 5);  // str8
    raw.pk.pack_float(0.5f);
    std::vector<Message> fast, generic;
    REQUIRE(dd::decode_batch_fast(raw.str(), s.resolver(), fast));
    dd::decode_batch_generic(raw.str(), s.resolver(), generic);
    REQUIRE(fast.size() == 1);
    REQUIRE(generic.size() == 1);
    check_same(fast[0], generic[0]);
    CHECK(fast[0].values == Values{"the", 0.5});
    CHECK(fast[0].source_task == -2);
    CHECK(fast[0].anchors == gale::detail::AnchorList{{1, 2}});
  }

  TEST_CASE("batch: random bytes never crash") {
    Streams s;
    std::mt19937_64 rng(20240601);
    int decoded = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string bytes(rng() % 64, '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      // Start most inputs like a batch so that the fuzzing reaches past the first byte.
      if (!bytes.empty() && i % 2 == 0) bytes[0] = '\x92';
      if (bytes.size() > 1 && i % 4 == 0) bytes[1] = '\x01';
      std::vector<Message> out;
      try {
        gale::wire::decode_batch(bytes, s.resolver(), out);
        ++decoded;
      } catch (const gale::Error&) {
        CHECK(out.empty());
      }
    }
    CHECK(decoded < 20000);
  }

  TEST_CASE("batch: random mutations of a valid batch never crash") {
    Streams s;
    const std::string valid = gale::wire::encode_batch(sample_batch(s));
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
      std::string bytes = valid;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      std::vector<Message> out;
      try {
        gale::wire::decode_batch(bytes, s.resolver(), out);
        // Whatever decoded is well-formed: tuples point at a known stream with its arity.
        for (const Message& m : out) {
          if (m.kind == MessageKind::tuple) {
            REQUIRE(m.meta != nullptr);
            CHECK(m.values.size() == m.meta->fields.size());
          }
        }
      } catch (const gale::Error&) {
        CHECK(out.empty());
      }
    }
  }

  TEST_CASE("batch: the resolver's own exception propagates and rolls back") {
    Streams s;
    std::vector<Message> batch = sample_batch(s);
    std::vector<Message> out;
    auto throwing = [](std::int32_t, std::int32_t) -> const StreamMeta* {
      throw gale::TopologyError("resolver down");
    };
    CHECK_THROWS_WITH_AS(gale::wire::decode_batch(gale::wire::encode_batch(batch), throwing, out),
                         "resolver down", gale::TopologyError);
    CHECK(out.empty());
  }

  TEST_CASE("batch: encode_batch_within encodes a batch that fits and declines one that does not") {
    Streams s;
    const std::vector<Message> batch = sample_batch(s);
    const std::string whole = gale::wire::encode_batch(batch);
    std::string out;
    CHECK(gale::wire::encode_batch_within(batch, whole.size(), out));
    CHECK(out == whole);
    CHECK_FALSE(gale::wire::encode_batch_within(batch, whole.size() - 1, out));
    // A message that cannot be encoded declines the batch instead of throwing.
    std::vector<Message> deep{tuple_message(0, make_tuple(s.errors, {nested_list(65)}, 1))};
    CHECK_FALSE(gale::wire::encode_batch_within(deep, 1 << 20, out));
    // Far over the limit: stops early (a 1 MB value against a 100-byte limit).
    std::vector<Message> big{
        tuple_message(0, make_tuple(s.sentences, {std::string(1 << 20, 'x')}, 1))};
    CHECK_FALSE(gale::wire::encode_batch_within(big, 100, out));
  }

  TEST_CASE("batch: split at a size limit, in order; what fits no batch or cannot be encoded is left out") {
    Streams s;
    std::vector<Message> batch;
    // 10 tuples of ~110 bytes, a 500-byte one, a value nested too deep, and acks in between.
    for (int i = 0; i < 10; ++i) {
      batch.push_back(tuple_message(3, make_tuple(s.words, {std::string(100, 'a' + i), i}, 2,
                                                  {{1000u + i, 7}})));
      if (i == 4) {
        batch.push_back(
            tuple_message(3, make_tuple(s.sentences, {std::string(500, 'x')}, 9, {{77, 78}})));
      }
      if (i == 6) batch.push_back(tuple_message(3, make_tuple(s.errors, {nested_list(65)}, 2)));
      if (i % 3 == 0) batch.push_back(ack_message(MessageKind::acker_ack, 3, 0, 5, 6));
    }
    constexpr std::size_t k_limit = 400;
    std::vector<std::string> batches;
    std::vector<gale::wire::Unencodable> refused;
    gale::wire::encode_batch_split(batch, k_limit, batches, refused);

    REQUIRE(refused.size() == 2);
    CHECK(refused[0].index == 7);  // the 500-byte sentence, after tuples 0-4 and acks 0 and 3
    const std::size_t alone =
        gale::wire::encode_batch(std::span<const Message>(&batch[7], 1)).size() - 3;
    CHECK(refused[0].bytes == alone);
    CHECK(refused[0].reason == "it takes " + std::to_string(alone) +
                                   " bytes encoded, over the limit of 400 bytes per message");
    CHECK(batch[refused[1].index].values[0].is_list());
    CHECK(refused[1].bytes == 0);
    CHECK(refused[1].reason == "cannot encode for the wire: value nests deeper than the limit of "
                               "64 levels");

    // Every batch within the limit, the next message would not have fitted, and together they
    // hold every other message in order.
    std::vector<Message> got;
    std::size_t previous_end = 0;
    for (const std::string& b : batches) {
      CHECK(b.size() <= k_limit);
      // Greedy: the next ~115-byte tuple would not have fitted.
      if (&b != &batches.back()) CHECK(b.size() > k_limit - 120);
      gale::wire::decode_batch(b, s.resolver(), got);
      CHECK(got.size() > previous_end);
      previous_end = got.size();
    }
    CHECK(batches.size() == 4);
    std::vector<const Message*> want;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i != refused[0].index && i != refused[1].index) want.push_back(&batch[i]);
    }
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      check_same(got[i], *want[i]);
    }
  }

  TEST_CASE("batch: a split measures sizes exactly (a limit of the batch's own size splits nothing)") {
    Streams s;
    std::mt19937_64 rng(7);
    // Sizes around each msgpack form's boundaries, so that every header width is measured.
    const std::size_t lengths[] = {0, 31, 32, 255, 256, 65535, 65536};
    const std::int64_t ints[] = {0,     127,    128,         255,          256,  65535,
                                 65536, -32,    -33,         -129,         -32769,
                                 std::int64_t{1} << 40,      -(std::int64_t{1} << 40)};
    for (int round = 0; round < 60; ++round) {
      CAPTURE(round);
      std::vector<Message> batch;
      const std::size_t n = 1 + rng() % 20;
      for (std::size_t i = 0; i < n; ++i) {
        const std::string text(lengths[rng() % 7], 'w');
        const Bytes bytes(lengths[rng() % 7], 3);
        const std::int64_t k = ints[rng() % 13];
        switch (rng() % 4) {
          case 0:
            batch.push_back(tuple_message(static_cast<std::int32_t>(rng() % 70000),
                                          make_tuple(s.words, {text, k}, 1, {{rng(), rng()}})));
            break;
          case 1:
            batch.push_back(tuple_message(
                2, make_tuple(s.errors, {List(rng() % 20, Value(bytes)), }, 1)));
            break;
          case 2: {
            Map m;
            for (std::size_t e = rng() % 20; e > 0; --e) m["k" + std::to_string(e)] = k;
            batch.push_back(tuple_message(2, make_tuple(s.errors, {Value(std::move(m))}, 1)));
            break;
          }
          default:
            batch.push_back(ack_message(MessageKind::acker_ack, static_cast<std::int32_t>(k & 0xffff),
                                        0, rng() >> (rng() % 64), rng() >> (rng() % 64)));
        }
      }
      const std::string whole = gale::wire::encode_batch(batch);
      std::vector<std::string> batches;
      std::vector<gale::wire::Unencodable> refused;
      gale::wire::encode_batch_split(batch, whole.size(), batches, refused);
      CHECK(refused.empty());
      REQUIRE(batches.size() == 1);
      CHECK(batches[0] == whole);
      if (batch.size() > 1) {
        batches.clear();
        gale::wire::encode_batch_split(batch, whole.size() - 1, batches, refused);
        CHECK(batches.size() >= 2);
        for (const std::string& b : batches) CHECK(b.size() < whole.size());
      }
    }
  }

  // Runs `f` in a child process whose address space may grow by at most `limit` bytes; true when
  // `f` returned or threw anything but std::bad_alloc. A decoder that allocates what a header
  // declares before the bytes exist fails there.
  template <typename F>
  bool fits_in_address_space(std::size_t limit, F&& f) {
    long pages = 0;
    std::ifstream("/proc/self/statm") >> pages;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      rlimit r{};
      r.rlim_cur = r.rlim_max =
          static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + limit;
      ::setrlimit(RLIMIT_AS, &r);
      try {
        f();
      } catch (const std::bad_alloc&) {
        ::_exit(1);
      } catch (...) {
      }
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  TEST_CASE("batch: a huge declared anchor count is not reserved before the anchors arrive") {
    // Found by fuzzing (tests/fuzz/fuzz_batch.cpp): the fast path reserved the 2^24 anchors this
    // 14-byte batch declares, 256 MiB, before finding none of them.
    namespace dd = gale::wire::detail_decode;
    Streams s;
    Raw raw;
    raw.pk.pack_array(2);
    raw.pk.pack(1);
    raw.pk.pack_array(1);
    raw.pk.pack_array(7);
    for (int field : {0, 3, 1, 0, 2}) raw.pk.pack(field);  // tuple to task 3 on split:default
    raw.pk.pack_array(1U << 24);                          // anchors, none of which follow
    const std::string bytes = raw.str();
    CHECK(fits_in_address_space(std::size_t{64} << 20, [&] {
      std::vector<Message> out;
      if (dd::decode_batch_fast(bytes, s.resolver(), out) || !out.empty()) ::_exit(2);
    }));
    CHECK(decode_error(bytes).find("truncated") != std::string::npos);
  }
}
