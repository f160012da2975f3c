// Emits are checked against the stream they go to: a tuple must carry one value per declared field.
// A wrong count is the emitting component's error, reported where it happens, never a tuple that a
// consumer or a fields grouping misreads.

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include <gale/gale.hpp>
#include <gale/spouts/fixed_tuple_spout.hpp>
#include <gale/testing.hpp>

using namespace gale;
using gale::testing::complete_topology;
using gale::spouts::FixedTupleSpout;

namespace {

std::vector<Values> numbers(int n) {
  std::vector<Values> out;
  for (int i = 0; i < n; ++i) out.push_back({i});
  return out;
}

// Calls `emit` and returns the TopologyError's message, or "" when it did not throw.
template <class F>
std::string error_of(F&& emit) {
  try {
    emit();
  } catch (const TopologyError& e) {
    return e.what();
  }
  return "";
}

// For every input n, tries emits with a wrong number of values on each kind of stream (and
// records what they threw), then emits correct tuples on each.
class MiscountingBolt : public Bolt {
 public:
  static inline std::vector<std::string> errors;

  void declare_outputs(OutputDeclarer& d) override {
    d.declare({"word", "count"});
    d.declare_stream("single", {"n"});
    d.declare_direct_stream("pick", {"a", "b"});
  }
  void prepare(const Context& context, BoltCollector&) override {
    sink_ = context.component_tasks("picked").front();
  }
  void execute(const Tuple& input, BoltCollector& out) override {
    const std::int64_t n = input.get_int("n");
    errors.push_back(error_of([&] { out.emit(input, {"w", n, 3}); }));
    errors.push_back(error_of([&] { out.emit(input, {"w"}); }));
    errors.push_back(error_of([&] { out.emit_to("single", input, {}); }));
    errors.push_back(error_of([&] { out.emit_direct(sink_, "pick", input, {n}); }));
    out.emit(input, {"w" + std::to_string(n % 3), n});
    out.emit_to("single", input, {n});
    out.emit_direct(sink_, "pick", input, {n, n});
    out.ack(input);
  }

 private:
  std::int32_t sink_ = 0;
};

// Counts what reaches it, and checks it is what the stream declares.
class CheckingSink : public BasicBolt {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"fields"}); }
  void execute(const Tuple& input, BasicCollector& out) override {
    CHECK(input.size() == input.fields().size());
    out.emit({static_cast<std::int64_t>(input.size())});
  }
};

// On its first attempt at each number, emits 3 values on the 2-field stream without catching: the
// exception leaves execute(), which fails the input; the replay then passes.
class ThrowsOnceBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"word", "n"}); }
  void execute(const Tuple& input, BoltCollector& out) override {
    const std::int64_t n = input.get_int("n");
    if (tried_.insert(n).second) out.emit(input, {"w", n, n});
    out.emit(input, {"w" + std::to_string(n % 4), n});
    out.ack(input);
  }

 private:
  std::set<std::int64_t> tried_;
};

// Emits 0..9 reliably on the default stream ("n"). Before that, it tries a wrong count on each
// kind of stream (catching and recording the errors), and its third call emits {} on the default
// stream without catching.
class MiscountingSpout : public Spout {
 public:
  static inline std::vector<std::string> errors;

  void declare_outputs(OutputDeclarer& d) override {
    d.declare({"n"});
    d.declare_stream("pair", {"x", "y"});
    d.declare_direct_stream("direct", {"x", "y"});
  }
  void open(const Context& context, SpoutCollector& out) override {
    out_ = &out;
    sink_ = context.component_tasks("direct_sink").front();
  }
  void next_tuple() override {
    ++calls_;
    if (calls_ == 1) {
      errors.push_back(error_of([&] { out_->emit({1, 2}, MessageId(100)); }));
      errors.push_back(error_of([&] { out_->emit_to("pair", {1}); }));
      errors.push_back(error_of([&] { out_->emit_direct(sink_, "direct", {1, 2, 3}, MessageId(101)); }));
      return;
    }
    if (calls_ == 2) out_->emit({}, MessageId(102));  // throws out of next_tuple()
    if (next_ < 10) {
      out_->emit({next_}, MessageId(next_));
      ++next_;
    }
  }
  void ack(const MessageId& id) override { acked.insert(id.as_int()); }
  void fail(const MessageId& id) override { failed.insert(id.as_int()); }

  static inline std::set<std::int64_t> acked;
  static inline std::set<std::int64_t> failed;

 private:
  SpoutCollector* out_ = nullptr;
  std::int32_t sink_ = 0;
  int calls_ = 0;
  std::int64_t next_ = 0;
};

}  // namespace

TEST_SUITE("local_features") {
  TEST_CASE("a bolt's emit with the wrong number of values throws, naming stream and fields") {
    MiscountingBolt::errors.clear();
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(3)));
    b.set_bolt("wrong", make<MiscountingBolt>()).shuffle_grouping("s");
    b.set_bolt("counts", make<CheckingSink>(), 2).fields_grouping("wrong", {"word"});
    b.set_bolt("singles", make<CheckingSink>()).shuffle_grouping("wrong", "single");
    b.set_bolt("picked", make<CheckingSink>()).direct_grouping("wrong", "pick");
    auto result = complete_topology(b.build());

    REQUIRE(MiscountingBolt::errors.size() == 12);
    for (std::size_t i = 0; i < 12; i += 4) {
      CHECK(MiscountingBolt::errors[i] ==
            "component 'wrong' emitted a tuple with the wrong number of fields on stream "
            "'default': expected 2 fields [word, count] but got 3 values");
      CHECK(MiscountingBolt::errors[i + 1] ==
            "component 'wrong' emitted a tuple with the wrong number of fields on stream "
            "'default': expected 2 fields [word, count] but got 1 value");
      CHECK(MiscountingBolt::errors[i + 2] ==
            "component 'wrong' emitted a tuple with the wrong number of fields on stream "
            "'single': expected 1 field [n] but got 0 values");
      CHECK(MiscountingBolt::errors[i + 3] ==
            "component 'wrong' emitted a tuple with the wrong number of fields on stream "
            "'pick': expected 2 fields [a, b] but got 1 value");
    }
    // Nothing of the refused emits went anywhere: each stream carried the 3 correct tuples only.
    CHECK(result.emitted("wrong").size() == 3);
    CHECK(result.emitted("wrong", "single").size() == 3);
    CHECK(result.emitted("wrong", "pick").size() == 3);
    CHECK(result.counts("counts").executed == 3);
    CHECK(result.counts("singles").executed == 3);
    CHECK(result.counts("picked").executed == 3);
    CHECK(result.counts("wrong").errors == 0);  // caught by the bolt: its own business
    CHECK(result.counts("s").acked == 3);
    CHECK(result.counts("s").failed == 0);
  }

  TEST_CASE("an uncaught wrong-count emit fails the bolt's input, which is replayed") {
    TopologyBuilder b;
    b.set_spout("s", make<FixedTupleSpout>(Fields{"n"}, numbers(20)));
    b.set_bolt("thrower", make<ThrowsOnceBolt>()).shuffle_grouping("s");
    b.set_bolt("sink", make<CheckingSink>(), 2).fields_grouping("thrower", {"word"});
    auto result = complete_topology(b.build());
    CHECK(result.counts("thrower").errors == 20);
    CHECK(result.counts("thrower").failed == 20);
    CHECK(result.counts("s").failed == 20);
    CHECK(result.counts("s").acked == 20);
    CHECK(result.counts("sink").executed == 20);  // the replays only; no 3-value tuple arrived
    for (const Values& v : result.emitted("sink")) CHECK(v[0].as_int() == 2);
  }

  TEST_CASE("a spout's emit with the wrong number of values throws; next_tuple's error is reported") {
    MiscountingSpout::errors.clear();
    MiscountingSpout::acked.clear();
    MiscountingSpout::failed.clear();
    TopologyBuilder b;
    b.set_spout("src", make<MiscountingSpout>());
    b.set_bolt("sink", make<CheckingSink>()).shuffle_grouping("src");
    b.set_bolt("pairs", make<CheckingSink>()).shuffle_grouping("src", "pair");
    b.set_bolt("direct_sink", make<CheckingSink>()).direct_grouping("src", "direct");
    auto result = complete_topology(b.build());

    REQUIRE(MiscountingSpout::errors.size() == 3);
    CHECK(MiscountingSpout::errors[0] ==
          "component 'src' emitted a tuple with the wrong number of fields on stream 'default': "
          "expected 1 field [n] but got 2 values");
    CHECK(MiscountingSpout::errors[1] ==
          "component 'src' emitted a tuple with the wrong number of fields on stream 'pair': "
          "expected 2 fields [x, y] but got 1 value");
    CHECK(MiscountingSpout::errors[2] ==
          "component 'src' emitted a tuple with the wrong number of fields on stream 'direct': "
          "expected 2 fields [x, y] but got 3 values");
    // The uncaught one is reported as the spout's error; the spout keeps running.
    CHECK(result.counts("src").errors == 1);
    CHECK(result.counts("src").emitted == 10);
    CHECK(result.counts("sink").executed == 10);
    CHECK(result.counts("pairs").executed == 0);
    CHECK(result.counts("direct_sink").executed == 0);
    // Refused emits start no tree: neither ack() nor fail() runs for their ids.
    CHECK(MiscountingSpout::acked == std::set<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(MiscountingSpout::failed.empty());
  }
}
