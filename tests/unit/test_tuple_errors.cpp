// The errors of Tuple's typed getters, through real tuples: each names the field, its index and
// where the tuple came from.

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gale/gale.hpp>
#include <gale/spouts/fixed_tuple_spout.hpp>
#include <gale/testing.hpp>

#include "worker/worker.hpp"

using namespace gale;
using gale::spouts::FixedTupleSpout;

namespace {

// One read of an input tuple, by index or by name.
using Read = std::function<void(const Tuple&)>;

// For every input, runs each read and emits what it threw ("" when it threw nothing).
class ProbeBolt : public BasicBolt {
 public:
  explicit ProbeBolt(std::vector<Read> reads) : reads_(std::move(reads)) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"error"}); }
  void execute(const Tuple& input, BasicCollector& out) override {
    for (const Read& read : reads_) {
      try {
        read(input);
        out.emit({""});
      } catch (const TypeError& e) {
        out.emit({std::string("TypeError: ") + e.what()});
      }
    }
  }

 private:
  std::vector<Read> reads_;
};

// The messages `reads` report for one tuple of `fields` emitted by component "split".
std::vector<std::string> probe(Fields fields, Values values, std::vector<Read> reads) {
  TopologyBuilder b;
  b.set_spout("split", make<FixedTupleSpout>(std::move(fields), std::vector<Values>{values}));
  b.set_bolt("probe", make<ProbeBolt>(std::move(reads))).shuffle_grouping("split");
  const auto result = testing::complete_topology(b.build());
  std::vector<std::string> out;
  for (const Values& v : result.emitted("probe")) out.push_back(v[0].as_string());
  return out;
}

const Fields k_fields{"flag", "count", "ratio", "name", "blob", "items", "attrs"};
Values one_of_each() { return {true, 7, 2.5, "x", Bytes{1, 2}, List{1}, Map{{"k", 1}}}; }

std::string mismatch(const std::string& where, const char* expected, const char* got) {
  return "TypeError: " + where + " of tuple from split:default: expected " + expected + ", got " +
         got;
}

}  // namespace

TEST_SUITE("value") {
  TEST_CASE("tuple getters by index name the field, its index and the source on a wrong type") {
    const std::vector<std::string> errors = probe(k_fields, one_of_each(),
        {
            [](const Tuple& t) { (void)t.get_bool(1); },
            [](const Tuple& t) { (void)t.get_int(3); },
            [](const Tuple& t) { (void)t.get_double(0); },
            [](const Tuple& t) { (void)t.get_string(1); },
            [](const Tuple& t) { (void)t.get_bytes(3); },
            [](const Tuple& t) { (void)t.get_list(6); },
            [](const Tuple& t) { (void)t.get_map(5); },
            [](const Tuple& t) { (void)t.get_int(2); },
        });
    CHECK(errors == std::vector<std::string>{
                        mismatch("field 'count' (index 1)", "bool", "int"),
                        mismatch("field 'name' (index 3)", "int", "string"),
                        mismatch("field 'flag' (index 0)", "double", "bool"),
                        mismatch("field 'count' (index 1)", "string", "int"),
                        mismatch("field 'name' (index 3)", "bytes", "string"),
                        mismatch("field 'attrs' (index 6)", "list", "map"),
                        mismatch("field 'items' (index 5)", "map", "list"),
                        mismatch("field 'ratio' (index 2)", "int", "double"),
                    });
  }

  TEST_CASE("tuple getters by name report the same as by index") {
    const std::vector<std::string> errors = probe(k_fields, one_of_each(),
        {
            [](const Tuple& t) { (void)t.get_bool("count"); },
            [](const Tuple& t) { (void)t.get_int("name"); },
            [](const Tuple& t) { (void)t.get_double("flag"); },
            [](const Tuple& t) { (void)t.get_string("count"); },
            [](const Tuple& t) { (void)t.get_bytes("name"); },
            [](const Tuple& t) { (void)t.get_list("attrs"); },
            [](const Tuple& t) { (void)t.get_map("items"); },
        });
    CHECK(errors == std::vector<std::string>{
                        mismatch("field 'count' (index 1)", "bool", "int"),
                        mismatch("field 'name' (index 3)", "int", "string"),
                        mismatch("field 'flag' (index 0)", "double", "bool"),
                        mismatch("field 'count' (index 1)", "string", "int"),
                        mismatch("field 'name' (index 3)", "bytes", "string"),
                        mismatch("field 'attrs' (index 6)", "list", "map"),
                        mismatch("field 'items' (index 5)", "map", "list"),
                    });
  }

  TEST_CASE("tuple getters of the right type return the content; get_double widens an int") {
    const std::vector<std::string> errors = probe(k_fields, one_of_each(),
        {
            [](const Tuple& t) {
              CHECK(t.get_bool(0));
              CHECK(t.get_int(1) == 7);
              CHECK(t.get_double(2) == 2.5);
              CHECK(t.get_string(3) == "x");
              CHECK(t.get_bytes(4) == Bytes{1, 2});
              CHECK(t.get_list(5) == List{1});
              CHECK(t.get_map(6) == Map{{"k", 1}});
              CHECK(t.get_double(1) == 7.0);
              CHECK(t.get_double("count") == 7.0);
              CHECK(t.get_string("name") == "x");
              CHECK(t.get_map("attrs").at("k") == Value(1));
            },
        });
    CHECK(errors == std::vector<std::string>{""});
  }

  TEST_CASE("a BasicBolt reading the wrong type fails its input, and last_error names the field") {
    // Reads the count as a string: a typical slip. The exception escapes execute().
    class WrongTypeBolt : public BasicBolt {
     public:
      void declare_outputs(OutputDeclarer& d) override { d.declare({"word"}); }
      void execute(const Tuple& input, BasicCollector& out) override {
        out.emit({input.get_string("count")});
      }
    };
    TopologyBuilder b;
    b.set_spout("split", make<FixedTupleSpout>(Fields{"word", "count"},
                                               std::vector<Values>{{"the", 1}}));
    b.set_bolt("count", make<WrongTypeBolt>()).shuffle_grouping("split");
    Config config;
    config.set(keys::topology_acker_executors, 0);  // no replay: one failure, one error
    worker::Worker w(b.build(), config);
    auto bolt_stats = [&] { return w.stats().components[0]; };  // sorted by id: count, split
    w.start();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (bolt_stats().errors == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    w.stop();
    const worker::ComponentStats stats = bolt_stats();
    REQUIRE(stats.component == "count");
    CHECK(stats.errors == 1);
    CHECK(stats.failed == 1);
    CHECK(stats.last_error ==
          "execute threw: field 'count' (index 1) of tuple from split:default: expected string, "
          "got int");
  }
}
