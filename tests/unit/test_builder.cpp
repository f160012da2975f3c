#include <doctest/doctest.h>

#include <algorithm>
#include <gale/gale.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "topology/src/topology_access.hpp"
#include "topology/src/tuple_data.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/support.hpp"

// Tests of the topology API that plugin authors use directly: OutputDeclarer, TopologyBuilder and
// its validation, Topology, TaskLayout, Context, grouping names and BasicBoltAdapter.

namespace {

using gale::Fields;
using gale::TopologyBuilder;
using gale::TopologyError;
using gale::test::error_of;
using gale::test::has;
using gale::test::ids_of;

// One output stream a test component declares.
struct StreamSpec {
  std::string name;
  Fields fields;
  bool direct = false;
};

void declare_all(const std::vector<StreamSpec>& streams, gale::OutputDeclarer& declarer) {
  for (const StreamSpec& s : streams) {
    if (s.name == gale::default_stream) {
      s.direct ? declarer.declare_direct(s.fields) : declarer.declare(s.fields);
    } else {
      s.direct ? declarer.declare_direct_stream(s.name, s.fields)
               : declarer.declare_stream(s.name, s.fields);
    }
  }
}

const std::vector<StreamSpec> k_word_stream = {{"default", {"word"}, false}};

// A spout that declares the given streams and returns the given component config.
class TestSpout : public gale::Spout {
 public:
  explicit TestSpout(std::vector<StreamSpec> streams = k_word_stream, gale::Config config = {})
      : streams_(std::move(streams)), config_(std::move(config)) {}
  void declare_outputs(gale::OutputDeclarer& declarer) override { declare_all(streams_, declarer); }
  void open(const gale::Context&, gale::SpoutCollector&) override {}
  void next_tuple() override {}
  gale::Config component_config() const override { return config_; }

 private:
  std::vector<StreamSpec> streams_;
  gale::Config config_;
};

class TestBolt : public gale::Bolt {
 public:
  explicit TestBolt(std::vector<StreamSpec> streams = k_word_stream, gale::Config config = {})
      : streams_(std::move(streams)), config_(std::move(config)) {}
  void declare_outputs(gale::OutputDeclarer& declarer) override { declare_all(streams_, declarer); }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override { out.ack(input); }
  gale::Config component_config() const override { return config_; }

 private:
  std::vector<StreamSpec> streams_;
  gale::Config config_;
};

// Which call of a component throws.
enum class Throws { declare_outputs, component_config };

class ThrowingBolt : public gale::Bolt {
 public:
  explicit ThrowingBolt(Throws where) : where_(where) {}
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    if (where_ == Throws::declare_outputs) throw std::runtime_error("outputs exploded");
    declarer.declare({"x"});
  }
  void execute(const gale::Tuple&, gale::BoltCollector&) override {}
  gale::Config component_config() const override {
    if (where_ == Throws::component_config) throw std::runtime_error("config exploded");
    return {};
  }

 private:
  Throws where_;
};

class NoopGrouping : public gale::CustomStreamGrouping {
 public:
  void choose_tasks(std::int32_t, const gale::Values&, std::vector<std::int32_t>& out) override {
    out.push_back(1);
  }
};

// A builder with spout "words" (default stream [word]) for the subscription tests.
std::unique_ptr<TopologyBuilder> builder_with_spout(
    std::vector<StreamSpec> streams = k_word_stream) {
  auto b = std::make_unique<TopologyBuilder>();
  b->set_spout("words", gale::make<TestSpout>(std::move(streams)));
  return b;
}

}  // namespace

TEST_SUITE("builder") {
  // ---- OutputDeclarer

  TEST_CASE("OutputDeclarer records default, named and direct streams") {
    gale::OutputDeclarer d;
    d.declare({"a", "b"});
    d.declare_stream("errors", {"message"});
    d.declare_direct_stream("targeted", {"x"});
    const auto& s = d.streams();
    REQUIRE(s.size() == 3);
    CHECK(s.at("default").fields == Fields{"a", "b"});
    CHECK_FALSE(s.at("default").direct);
    CHECK(s.at("errors").fields == Fields{"message"});
    CHECK_FALSE(s.at("errors").direct);
    CHECK(s.at("targeted").direct);

    gale::OutputDeclarer direct_default;
    direct_default.declare_direct({"v"});
    CHECK(direct_default.streams().at("default").direct);
  }

  TEST_CASE("OutputDeclarer rejects duplicate, empty and reserved stream names") {
    gale::OutputDeclarer d;
    d.declare({"a"});
    auto dup = error_of<TopologyError>([&] { d.declare_direct({"b"}); });
    CHECK(has(dup, "'default'"));
    CHECK(has(dup, "twice"));
    d.declare_stream("s", {"a"});
    CHECK(has(error_of<TopologyError>([&] { d.declare_stream("s", {"a"}); }), "'s'"));
    CHECK(has(error_of<TopologyError>([&] { d.declare_direct_stream("s", {"a"}); }), "'s'"));
    CHECK(has(error_of<TopologyError>([&] { d.declare_stream("", {"a"}); }), "empty"));
    auto reserved = error_of<TopologyError>([&] { d.declare_stream("__tick", {"a"}); });
    CHECK(has(reserved, "'__tick'"));
    CHECK(has(reserved, "reserved"));
    CHECK_THROWS_AS(d.declare_direct_stream("__x", {"a"}), TopologyError);
    // A single leading underscore is an ordinary name.
    CHECK_NOTHROW(d.declare_stream("_private", {"a"}));
    CHECK(d.streams().size() == 3);
  }

  TEST_CASE("grouping_name names every grouping") {
    using G = gale::GroupingType;
    CHECK(std::string(gale::grouping_name(G::shuffle)) == "shuffle");
    CHECK(std::string(gale::grouping_name(G::fields)) == "fields");
    CHECK(std::string(gale::grouping_name(G::all)) == "all");
    CHECK(std::string(gale::grouping_name(G::global)) == "global");
    CHECK(std::string(gale::grouping_name(G::none)) == "none");
    CHECK(std::string(gale::grouping_name(G::direct)) == "direct");
    CHECK(std::string(gale::grouping_name(G::local_or_shuffle)) == "local_or_shuffle");
    CHECK(std::string(gale::grouping_name(G::partial_key)) == "partial_key");
    CHECK(std::string(gale::grouping_name(G::custom)) == "custom");
  }

  // ---- set_spout / set_bolt / set_num_tasks errors (thrown at once)

  TEST_CASE("set_spout and set_bolt reject bad ids, null factories and bad parallelism") {
    TopologyBuilder b;
    b.set_spout("words", gale::make<TestSpout>());

    CHECK(has(error_of<TopologyError>([&] { b.set_spout("", gale::make<TestSpout>()); }), "empty id"));
    CHECK(has(error_of<TopologyError>([&] { b.set_bolt("", gale::make<TestBolt>()); }), "empty id"));

    auto reserved = error_of<TopologyError>([&] { b.set_bolt("__acker", gale::make<TestBolt>()); });
    CHECK(has(reserved, "'__acker'"));
    CHECK(has(reserved, "reserved"));
    CHECK_THROWS_AS(b.set_spout("__x", gale::make<TestSpout>()), TopologyError);

    auto dup_spout = error_of<TopologyError>([&] { b.set_spout("words", gale::make<TestSpout>()); });
    CHECK(has(dup_spout, "'words'"));
    CHECK(has(dup_spout, "already exists"));
    auto dup_bolt = error_of<TopologyError>([&] { b.set_bolt("words", gale::make<TestBolt>()); });
    CHECK(has(dup_bolt, "bolt 'words'"));
    CHECK(has(dup_bolt, "spout with this id"));

    auto null_spout = error_of<TopologyError>([&] { b.set_spout("s2", gale::SpoutFactory{}); });
    CHECK(has(null_spout, "spout 's2'"));
    CHECK(has(null_spout, "null factory"));
    auto null_bolt = error_of<TopologyError>([&] { b.set_bolt("b2", gale::BoltFactory{}); });
    CHECK(has(null_bolt, "bolt 'b2'"));
    CHECK(has(null_bolt, "null factory"));

    auto zero = error_of<TopologyError>([&] { b.set_bolt("count", gale::make<TestBolt>(), 0); });
    CHECK(has(zero, "bolt 'count'"));
    CHECK(has(zero, "parallelism"));
    CHECK(has(zero, "got 0"));
    auto negative = error_of<TopologyError>([&] { b.set_spout("more", gale::make<TestSpout>(), -3); });
    CHECK(has(negative, "spout 'more'"));
    CHECK(has(negative, "got -3"));

    // A rejected call adds nothing: the ids are still free and the topology has one component.
    CHECK_NOTHROW(b.set_bolt("count", gale::make<TestBolt>(), 1).shuffle_grouping("words"));
    CHECK_NOTHROW(b.set_spout("more", gale::make<TestSpout>()));
    CHECK(ids_of(b.build()) == std::vector<std::string>{"count", "more", "words"});
  }

  TEST_CASE("set_num_tasks below 1 throws naming the component and the value") {
    TopologyBuilder b;
    auto& spout = b.set_spout("words", gale::make<TestSpout>());
    auto msg = error_of<TopologyError>([&] { spout.set_num_tasks(0); });
    CHECK(has(msg, "spout 'words'"));
    CHECK(has(msg, "got 0"));
    auto& bolt = b.set_bolt("count", gale::make<TestBolt>());
    auto bolt_msg = error_of<TopologyError>([&] { bolt.set_num_tasks(-1); });
    CHECK(has(bolt_msg, "bolt 'count'"));
    CHECK(has(bolt_msg, "got -1"));
  }

  // ---- build() errors

  TEST_CASE("a topology without a spout is rejected") {
    TopologyBuilder empty;
    CHECK_THROWS_WITH_AS(empty.build(), "topology has no spout", TopologyError);
    TopologyBuilder bolts_only;
    bolts_only.set_bolt("a", gale::make<TestBolt>());
    bolts_only.set_bolt("b", gale::make<TestBolt>()).shuffle_grouping("a");
    CHECK_THROWS_WITH_AS(bolts_only.build(), "topology has no spout", TopologyError);
  }

  TEST_CASE("factories that throw or return null are reported with the component") {
    SUBCASE("spout factory throws") {
      TopologyBuilder b;
      b.set_spout("words", []() -> std::unique_ptr<gale::Spout> {
        throw std::runtime_error("cannot connect to kafka");
      });
      auto msg = error_of<TopologyError>([&] { (void)b.build(); });
      CHECK(has(msg, "spout 'words'"));
      CHECK(has(msg, "cannot connect to kafka"));
    }
    SUBCASE("bolt factory returns null") {
      auto b = builder_with_spout();
      b->set_bolt("count", []() -> std::unique_ptr<gale::Bolt> {
         return nullptr;
       }).shuffle_grouping("words");
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'count'"));
      CHECK(has(msg, "null"));
    }
    SUBCASE("factory throws a non-standard exception") {
      auto b = builder_with_spout();
      b->set_bolt("odd", []() -> std::unique_ptr<gale::Bolt> { throw 42; });
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'odd'"));
    }
  }

  TEST_CASE("declare_outputs and component_config failures are reported with the component") {
    auto b = builder_with_spout();
    SUBCASE("declare_outputs throws") {
      b->set_bolt("broken", gale::make<ThrowingBolt>(Throws::declare_outputs));
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'broken'"));
      CHECK(has(msg, "declare_outputs"));
      CHECK(has(msg, "outputs exploded"));
    }
    SUBCASE("component_config throws") {
      b->set_bolt("broken", gale::make<ThrowingBolt>(Throws::component_config));
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'broken'"));
      CHECK(has(msg, "component_config"));
      CHECK(has(msg, "config exploded"));
    }
    SUBCASE("a stream declared twice") {
      b->set_bolt("twice", gale::make<TestBolt>(std::vector<StreamSpec>{{"out", {"a"}, false},
                                                                        {"out", {"b"}, false}}));
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'twice'"));
      CHECK(has(msg, "'out'"));
    }
  }

  TEST_CASE("an invalid component config is reported with the component") {
    SUBCASE("from component_config()") {
      gale::Config bad;
      bad.set(gale::keys::topology_workers, "two");
      TopologyBuilder b;
      b.set_spout("words", gale::make<TestSpout>(k_word_stream, bad));
      auto msg = error_of<TopologyError>([&] { (void)b.build(); });
      CHECK(has(msg, "spout 'words'"));
      CHECK(has(msg, gale::keys::topology_workers));
    }
    SUBCASE("from add_configuration()") {
      auto b = builder_with_spout();
      b->set_bolt("count", gale::make<TestBolt>())
          .shuffle_grouping("words")
          .add_configuration(gale::keys::topology_workers, "two");
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'count'"));
      CHECK(has(msg, gale::keys::topology_workers));
    }
  }

  TEST_CASE("a subscription to an unknown component names both components") {
    auto b = builder_with_spout();
    b->set_bolt("split", gale::make<TestBolt>()).shuffle_grouping("words");
    b->set_bolt("count", gale::make<TestBolt>()).fields_grouping("splitt", {"word"});
    CHECK_THROWS_WITH_AS(b->build(), "bolt 'count' subscribes to unknown component 'splitt'",
                         TopologyError);
  }

  TEST_CASE("a subscription to an undeclared stream lists the declared streams") {
    auto b = builder_with_spout({{"default", {"word"}, false}, {"errors", {"message"}, false}});
    b->set_bolt("count", gale::make<TestBolt>()).shuffle_grouping("words", "erors");
    auto msg = error_of<TopologyError>([&] { (void)b->build(); });
    CHECK(has(msg, "bolt 'count'"));
    CHECK(has(msg, "'erors'"));
    CHECK(has(msg, "'words'"));
    CHECK(has(msg, "[default, errors]"));

    // A component that declares nothing (a sink) says so.
    auto sink = builder_with_spout();
    sink->set_bolt("sink", gale::make<TestBolt>(std::vector<StreamSpec>{}))
        .shuffle_grouping("words");
    sink->set_bolt("after", gale::make<TestBolt>()).shuffle_grouping("sink");
    auto sink_msg = error_of<TopologyError>([&] { (void)sink->build(); });
    CHECK(has(sink_msg, "bolt 'after'"));
    CHECK(has(sink_msg, "'sink'"));
    CHECK(has(sink_msg, "declares no streams"));
  }

  TEST_CASE("fields and partial-key groupings need declared fields") {
    const std::vector<StreamSpec> streams = {{"default", {"word", "count"}, false},
                                             {"other", {"key"}, false}};
    SUBCASE("fields grouping on an undeclared field") {
      auto b = builder_with_spout(streams);
      b->set_bolt("count", gale::make<TestBolt>()).fields_grouping("words", {"wrd"});
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'count'"));
      CHECK(has(msg, "'wrd'"));
      CHECK(has(msg, "stream 'default'"));
      CHECK(has(msg, "'words'"));
      CHECK(has(msg, "[word, count]"));
    }
    SUBCASE("fields grouping on a named stream checks that stream's fields") {
      auto b = builder_with_spout(streams);
      b->set_bolt("count", gale::make<TestBolt>()).fields_grouping("words", "other", {"word"});
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "'word'"));
      CHECK(has(msg, "stream 'other'"));
      CHECK(has(msg, "[key]"));
    }
    SUBCASE("fields grouping without fields") {
      auto b = builder_with_spout(streams);
      b->set_bolt("count", gale::make<TestBolt>()).fields_grouping("words", Fields{});
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'count'"));
      CHECK(has(msg, "fields grouping"));
      CHECK(has(msg, "without any field"));
    }
    SUBCASE("partial-key grouping on an undeclared field") {
      auto b = builder_with_spout(streams);
      b->set_bolt("count", gale::make<TestBolt>()).partial_key_grouping("words", {"word", "cnt"});
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "partial_key grouping"));
      CHECK(has(msg, "'cnt'"));
      CHECK(has(msg, "[word, count]"));
    }
    SUBCASE("partial-key grouping without fields") {
      auto b = builder_with_spout(streams);
      b->set_bolt("count", gale::make<TestBolt>()).partial_key_grouping("words", "other", Fields{});
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'count'"));
      CHECK(has(msg, "without any field"));
    }
  }

  TEST_CASE("direct grouping and direct streams must match") {
    const std::vector<StreamSpec> streams = {{"default", {"word"}, false},
                                             {"targeted", {"word"}, true}};
    SUBCASE("direct grouping on a non-direct stream") {
      auto b = builder_with_spout(streams);
      b->set_bolt("count", gale::make<TestBolt>()).direct_grouping("words");
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'count'"));
      CHECK(has(msg, "direct grouping"));
      CHECK(has(msg, "stream 'default'"));
      CHECK(has(msg, "not a direct stream"));
    }
    SUBCASE("shuffle grouping on a direct stream") {
      auto b = builder_with_spout(streams);
      b->set_bolt("count", gale::make<TestBolt>()).shuffle_grouping("words", "targeted");
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "bolt 'count'"));
      CHECK(has(msg, "shuffle grouping"));
      CHECK(has(msg, "direct stream 'targeted'"));
    }
    SUBCASE("fields grouping on a direct stream") {
      auto b = builder_with_spout(streams);
      b->set_bolt("count", gale::make<TestBolt>()).fields_grouping("words", "targeted", {"word"});
      auto msg = error_of<TopologyError>([&] { (void)b->build(); });
      CHECK(has(msg, "fields grouping"));
      CHECK(has(msg, "'targeted'"));
    }
  }

  TEST_CASE("a custom grouping needs a factory") {
    auto b = builder_with_spout();
    b->set_bolt("count", gale::make<TestBolt>()).custom_grouping("words", nullptr);
    auto msg = error_of<TopologyError>([&] { (void)b->build(); });
    CHECK(has(msg, "bolt 'count'"));
    CHECK(has(msg, "custom grouping"));
    CHECK(has(msg, "'words'"));
    CHECK(has(msg, "factory"));
  }

  TEST_CASE("a bolt may not subscribe to the same stream twice") {
    auto b = builder_with_spout({{"default", {"word"}, false}, {"other", {"word"}, false}});
    b->set_bolt("count", gale::make<TestBolt>())
        .shuffle_grouping("words")
        .fields_grouping("words", "other", {"word"})
        .all_grouping("words", "default");
    auto msg = error_of<TopologyError>([&] { (void)b->build(); });
    CHECK(has(msg, "bolt 'count'"));
    CHECK(has(msg, "stream 'default'"));
    CHECK(has(msg, "'words'"));
    CHECK(has(msg, "twice"));
  }

  // ---- valid topologies

  TEST_CASE("all nine groupings build and are recorded") {
    const std::vector<StreamSpec> streams = {{"default", {"word", "count"}, false},
                                             {"s2", {"word"}, false},
                                             {"s3", {"word"}, false},
                                             {"s4", {"word"}, false},
                                             {"s5", {"word"}, false},
                                             {"s6", {"word"}, false},
                                             {"s7", {"word", "count"}, false},
                                             {"d", {"word"}, true},
                                             {"s8", {"word"}, false}};
    auto b = builder_with_spout(streams);
    b->set_bolt("sink", gale::make<TestBolt>())
        .shuffle_grouping("words")
        .fields_grouping("words", "s2", {"word"})
        .all_grouping("words", "s3")
        .global_grouping("words", "s4")
        .none_grouping("words", "s5")
        .local_or_shuffle_grouping("words", "s6")
        .partial_key_grouping("words", "s7", {"count", "word"})
        .direct_grouping("words", "d")
        .custom_grouping("words", "s8", [] { return std::make_unique<NoopGrouping>(); });
    auto t = b->build();
    const auto& inputs = t.component("sink").inputs;
    REQUIRE(inputs.size() == 9);
    using G = gale::GroupingType;
    const std::vector<std::pair<std::string, G>> expected = {
        {"default", G::shuffle}, {"s2", G::fields}, {"s3", G::all},
        {"s4", G::global},       {"s5", G::none},   {"s6", G::local_or_shuffle},
        {"s7", G::partial_key},  {"d", G::direct},  {"s8", G::custom}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
      CAPTURE(i);
      CHECK(inputs[i].component == "words");
      CHECK(inputs[i].stream == expected[i].first);
      CHECK(inputs[i].grouping.type == expected[i].second);
    }
    CHECK(inputs[1].grouping.fields == Fields{"word"});
    CHECK(inputs[6].grouping.fields == Fields{"count", "word"});
    REQUIRE(inputs[8].grouping.custom);
    CHECK(inputs[8].grouping.custom() != nullptr);
  }

  TEST_CASE("overloads without a stream subscribe to the default stream") {
    auto b = builder_with_spout();
    b->set_bolt("a", gale::make<TestBolt>()).fields_grouping("words", {"word"});
    b->set_bolt("b", gale::make<TestBolt>()).partial_key_grouping("words", {"word"});
    b->set_bolt("c", gale::make<TestBolt>()).custom_grouping("words", [] {
      return std::make_unique<NoopGrouping>();
    });
    b->set_bolt("d", gale::make<TestBolt>()).global_grouping("words");
    auto t = b->build();
    for (const char* id : {"a", "b", "c", "d"}) {
      CAPTURE(id);
      REQUIRE(t.component(id).inputs.size() == 1);
      CHECK(t.component(id).inputs[0].stream == "default");
    }
  }

  TEST_CASE("named and direct streams are recorded in the topology") {
    auto b = builder_with_spout({{"default", {"word"}, false},
                                 {"errors", {"message", "code"}, false},
                                 {"targeted", {"word"}, true}});
    b->set_bolt("direct_sink", gale::make<TestBolt>(std::vector<StreamSpec>{}))
        .direct_grouping("words", "targeted");
    b->set_bolt("error_sink",
                gale::make<TestBolt>(std::vector<StreamSpec>{{"default", {"x"}, true}}))
        .shuffle_grouping("words", "errors");
    auto t = b->build();
    const auto& words = t.component("words");
    CHECK(words.kind == gale::ComponentKind::spout);
    CHECK(words.streams.size() == 3);
    REQUIRE(words.find_stream("errors") != nullptr);
    CHECK(words.find_stream("errors")->fields == Fields{"message", "code"});
    CHECK_FALSE(words.find_stream("errors")->direct);
    REQUIRE(words.find_stream("targeted") != nullptr);
    CHECK(words.find_stream("targeted")->direct);
    CHECK(words.find_stream("nope") == nullptr);
    CHECK(t.component("direct_sink").streams.empty());
    CHECK(t.component("direct_sink").kind == gale::ComponentKind::bolt);
    REQUIRE(t.component("error_sink").find_stream("default") != nullptr);
    CHECK(t.component("error_sink").find_stream("default")->direct);
  }

  TEST_CASE("task counts default to the parallelism") {
    auto b = builder_with_spout();
    b->set_bolt("plain", gale::make<TestBolt>(), 3).shuffle_grouping("words");
    b->set_bolt("more_tasks", gale::make<TestBolt>(), 2).set_num_tasks(8).shuffle_grouping("words");
    // As in Storm, fewer tasks than executors means one executor per task.
    b->set_bolt("fewer_tasks", gale::make<TestBolt>(), 4).set_num_tasks(2).all_grouping("words");
    auto t = b->build();
    CHECK(t.component("words").parallelism == 1);
    CHECK(t.component("words").num_tasks == 1);
    CHECK(t.component("plain").parallelism == 3);
    CHECK(t.component("plain").num_tasks == 3);
    CHECK(t.component("more_tasks").parallelism == 2);
    CHECK(t.component("more_tasks").num_tasks == 8);
    CHECK(t.component("fewer_tasks").parallelism == 2);
    CHECK(t.component("fewer_tasks").num_tasks == 2);
  }

  TEST_CASE("builder configuration overrides component_config()") {
    gale::Config own;
    own.set("app.only_component", 1);
    own.set("app.both", "component");
    own.set(gale::keys::topology_tick_tuple_freq_secs, 5);
    TopologyBuilder b;
    b.set_spout("words", gale::make<TestSpout>(k_word_stream, own))
        .add_configuration("app.both", "builder")
        .add_configuration("app.only_builder", true)
        .set_max_spout_pending(100);
    b.set_bolt("count", gale::make<TestBolt>()).shuffle_grouping("words");
    auto t = b.build();
    const gale::Config& c = t.component("words").config;
    CHECK(c.get_int("app.only_component", 0) == 1);
    CHECK(c.get_string("app.both", "") == "builder");
    CHECK(c.get_bool("app.only_builder", false));
    CHECK(c.get_int(gale::keys::topology_tick_tuple_freq_secs, 0) == 5);
    CHECK(c.get_int(gale::keys::topology_max_spout_pending, 0) == 100);
    CHECK(c.entries().size() == 5);
    // Other components' configs stay apart.
    CHECK(t.component("count").config.entries().empty());
  }

  TEST_CASE("components are sorted by id whatever the declaration order") {
    TopologyBuilder b;
    b.set_bolt("zeta", gale::make<TestBolt>()).shuffle_grouping("beta");
    b.set_spout("beta", gale::make<TestSpout>());
    b.set_bolt("alpha", gale::make<TestBolt>()).shuffle_grouping("zeta");
    b.set_spout("gamma", gale::make<TestSpout>());
    auto t = b.build();
    CHECK(ids_of(t) == std::vector<std::string>{"alpha", "beta", "gamma", "zeta"});
    CHECK(gale::detail::TopologyAccess::library(t) == nullptr);
    // build() does not consume the builder.
    CHECK(ids_of(b.build()) == ids_of(t));
  }

  TEST_CASE("cycles are allowed, as in Storm") {
    auto b = builder_with_spout();
    b->set_bolt("a", gale::make<TestBolt>()).shuffle_grouping("words").shuffle_grouping("b");
    b->set_bolt("b", gale::make<TestBolt>()).shuffle_grouping("a");
    b->set_bolt("self", gale::make<TestBolt>()).shuffle_grouping("words").shuffle_grouping("self");
    CHECK_NOTHROW(b->build());
  }

  TEST_CASE("the factories in the topology create working instances") {
    auto b = builder_with_spout({{"default", {"word"}, false}, {"other", {"n"}, false}});
    b->set_bolt("count", gale::make<TestBolt>()).shuffle_grouping("words");
    auto t = b->build();
    auto spout = t.component("words").spout();
    REQUIRE(spout != nullptr);
    gale::OutputDeclarer d;
    spout->declare_outputs(d);
    CHECK(d.streams().size() == 2);
    CHECK(t.component("count").bolt() != nullptr);
    CHECK_FALSE(t.component("count").spout);
  }

  // ---- Topology

  TEST_CASE("Topology lookups, sorting, copies and errors") {
    gale::ComponentDef b_def;
    b_def.id = "b";
    gale::ComponentDef a_def;
    a_def.id = "a";
    a_def.kind = gale::ComponentKind::spout;
    using gale::detail::TopologyAccess;
    gale::Topology t = TopologyAccess::make({b_def, a_def});
    CHECK(ids_of(t) == std::vector<std::string>{"a", "b"});
    REQUIRE(t.find("a") != nullptr);
    CHECK(t.find("a")->kind == gale::ComponentKind::spout);
    CHECK(t.find("c") == nullptr);
    CHECK(t.find("") == nullptr);
    CHECK(&t.component("b") == t.find("b"));
    CHECK_THROWS_WITH_AS(t.component("nope"), "unknown component 'nope'", TopologyError);

    gale::Topology copy(t);
    gale::Topology assigned = TopologyAccess::make({});
    assigned = copy;
    CHECK(ids_of(assigned) == ids_of(t));
    gale::Topology moved(std::move(copy));
    CHECK(ids_of(moved) == ids_of(t));
    assigned = TopologyAccess::make({a_def});
    CHECK(ids_of(assigned) == std::vector<std::string>{"a"});

    auto library = std::make_shared<int>(7);
    assigned = TopologyAccess::make({a_def}, library);
    gale::Topology with_library = assigned;
    CHECK(TopologyAccess::library(with_library) == library);
    CHECK(library.use_count() == 3);
    assigned = TopologyAccess::make({});
    CHECK(library.use_count() == 2);

    CHECK_THROWS_AS((void)TopologyAccess::make({a_def, a_def}), TopologyError);
  }

  // ---- TaskLayout

  TEST_CASE("TaskLayout numbers tasks by component id, ackers last") {
    auto b = builder_with_spout();  // "words": 1 task
    b->set_bolt("count", gale::make<TestBolt>(), 2).set_num_tasks(3).shuffle_grouping("words");
    b->set_bolt("alpha", gale::make<TestBolt>(), 2).shuffle_grouping("words");
    auto t = b->build();
    gale::TaskLayout layout(t, 2);
    // alpha: 1-2, count: 3-5, words: 6, __acker: 7-8
    CHECK(layout.task_count() == 8);
    CHECK(layout.components() ==
          std::vector<std::string>{"alpha", "count", "words", gale::acker_component});
    CHECK(layout.tasks_of("alpha") == std::vector<std::int32_t>{1, 2});
    CHECK(layout.tasks_of("count") == std::vector<std::int32_t>{3, 4, 5});
    CHECK(layout.tasks_of("words") == std::vector<std::int32_t>{6});
    CHECK(layout.acker_tasks() == std::vector<std::int32_t>{7, 8});
    CHECK(layout.tasks_of(gale::acker_component) == layout.acker_tasks());
    const std::vector<std::pair<std::string, int>> expected = {
        {"alpha", 0}, {"alpha", 1}, {"count", 0},   {"count", 1},
        {"count", 2}, {"words", 0}, {"__acker", 0}, {"__acker", 1}};
    for (std::int32_t task = 1; task <= 8; ++task) {
      CAPTURE(task);
      CHECK(layout.component_of(task) == expected[task - 1].first);
      CHECK(layout.task_index(task) == expected[task - 1].second);
    }
    CHECK_THROWS_WITH_AS(layout.tasks_of("nope"), "unknown component 'nope'", TopologyError);

    gale::TaskLayout no_ackers(t, 0);
    CHECK(no_ackers.task_count() == 6);
    CHECK(no_ackers.acker_tasks().empty());
    CHECK_THROWS_AS(gale::TaskLayout(t, -1), TopologyError);
  }

  TEST_CASE("a copied TaskLayout stays valid after the original is gone") {
    auto t = builder_with_spout()->build();
    std::optional<gale::TaskLayout> original;
    original.emplace(t, 1);
    gale::TaskLayout copy = *original;
    original.reset();
    CHECK(copy.component_of(1) == "words");
    CHECK(copy.component_of(2) == gale::acker_component);
  }

  // ---- Context

  TEST_CASE("Context describes its task and the topology") {
    gale::Config own;
    own.set("app.key", "component");
    own.set("app.own", 1);
    auto b = builder_with_spout({{"default", {"word"}, false}, {"errors", {"message"}, false}});
    b->set_bolt("count", gale::make<TestBolt>(k_word_stream, own), 3).shuffle_grouping("words");
    auto t = b->build();
    gale::TaskLayout layout(t, 1);  // count: 1-3, words: 4, __acker: 5
    gale::Config topology_config;
    topology_config.set("app.key", "topology");
    topology_config.set("app.topology", true);

    gale::Context context(t, layout, topology_config, 2);
    CHECK(context.task_id() == 2);
    CHECK(context.component_id() == "count");
    CHECK(context.task_index() == 1);
    CHECK(&context.topology() == &t);
    CHECK(&context.layout() == &layout);
    CHECK(context.component_tasks("count") == std::vector<std::int32_t>{1, 2, 3});
    CHECK(context.component_tasks("words") == std::vector<std::int32_t>{4});
    CHECK_THROWS_AS(context.component_tasks("nope"), TopologyError);
    CHECK(context.output_fields("words") == Fields{"word"});
    CHECK(context.output_fields("words", "errors") == Fields{"message"});
    auto unknown_stream = error_of<TopologyError>([&] { context.output_fields("words", "nope"); });
    CHECK(has(unknown_stream, "'words'"));
    CHECK(has(unknown_stream, "'nope'"));
    CHECK_THROWS_WITH_AS(context.output_fields("nope"), "unknown component 'nope'", TopologyError);
    // The component's own config is merged over the topology's.
    CHECK(context.config().get_string("app.key", "") == "component");
    CHECK(context.config().get_bool("app.topology", false));
    CHECK(context.config().get_int("app.own", 0) == 1);

    gale::Context spout_context(t, layout, topology_config, 4);
    CHECK(spout_context.component_id() == "words");
    CHECK(spout_context.task_index() == 0);
    CHECK(spout_context.config().get_string("app.key", "") == "topology");

    gale::Context acker_context(t, layout, topology_config, 5);
    CHECK(acker_context.component_id() == gale::acker_component);

    CHECK_THROWS_AS(gale::Context(t, layout, topology_config, 0), TopologyError);
    CHECK_THROWS_AS(gale::Context(t, layout, topology_config, 6), TopologyError);
  }

  // ---- Spout, Bolt and BasicBolt defaults; BasicBoltAdapter

  TEST_CASE("default callbacks do nothing and return an empty config") {
    TestSpout spout;
    CHECK_NOTHROW(spout.ack(gale::MessageId(1)));
    CHECK_NOTHROW(spout.fail(gale::MessageId("x")));
    CHECK_NOTHROW(spout.activate());
    CHECK_NOTHROW(spout.deactivate());
    CHECK_NOTHROW(spout.close());
    CHECK(spout.gale::Spout::component_config().entries().empty());
    TestBolt bolt;
    CHECK_NOTHROW(bolt.cleanup());
    CHECK(bolt.gale::Bolt::component_config().entries().empty());
  }
}

namespace {

// Records what a bolt does with its collector.
class RecordingCollector : public gale::BoltCollector {
 public:
  struct Emit {
    std::string stream;
    std::vector<gale::Tuple> anchors;
    gale::Values values;
  };
  std::vector<Emit> emits;
  std::vector<gale::Tuple> acked;
  std::vector<gale::Tuple> failed;
  std::vector<std::string> errors;

  void ack(const gale::Tuple& input) override { acked.push_back(input); }
  void fail(const gale::Tuple& input) override { failed.push_back(input); }
  void report_error(std::string_view message) override { errors.emplace_back(message); }

 protected:
  void do_emit(std::string_view stream, std::span<const gale::Tuple> anchors, gale::Values&& values,
               std::int32_t) override {
    // An empty stream is the default one (see BoltCollector::do_emit).
    emits.push_back({stream.empty() ? std::string(gale::default_stream) : std::string(stream),
                     {anchors.begin(), anchors.end()},
                     std::move(values)});
  }
};

enum class Outcome { ok, failed_exception, other_exception };

// Counts its lifecycle calls in a shared record, since the adapter owns the instance.
struct BasicRecord {
  int prepared = 0;
  int cleaned = 0;
  std::int32_t prepared_task = 0;
};

class TestBasicBolt : public gale::BasicBolt {
 public:
  TestBasicBolt(Outcome outcome, std::shared_ptr<BasicRecord> record)
      : outcome_(outcome), record_(std::move(record)) {}
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"out"});
    declarer.declare_stream("side", {"out"});
  }
  void prepare(const gale::Context& context) override {
    ++record_->prepared;
    record_->prepared_task = context.task_id();
  }
  void execute(const gale::Tuple&, gale::BasicCollector& out) override {
    out.emit({1});
    out.emit_to("side", {2});
    out.report_error("note");
    if (outcome_ == Outcome::failed_exception) throw gale::FailedException("on purpose");
    if (outcome_ == Outcome::other_exception) throw std::logic_error("bug in bolt");
  }
  void cleanup() override { ++record_->cleaned; }
  gale::Config component_config() const override {
    gale::Config c;
    c.set("basic.key", 3);
    return c;
  }

 private:
  Outcome outcome_;
  std::shared_ptr<BasicRecord> record_;
};

gale::Tuple make_tuple() {
  return gale::detail::TupleAccess::wrap(gale::detail::new_tuple_data());
}

}  // namespace

TEST_SUITE("builder") {
  TEST_CASE("Tuple handles share one reference-counted tuple") {
    auto refs = [](const gale::Tuple& t) {
      return gale::detail::TupleAccess::data(t)->refs.load();
    };
    gale::detail::TupleData* data = gale::detail::new_tuple_data();
    data->values = {"kept", 7};
    gale::Tuple a = gale::detail::TupleAccess::wrap(data);
    CHECK(refs(a) == 1);
    {
      gale::Tuple b = a;  // copy
      CHECK(refs(a) == 2);
      CHECK(b == a);
      gale::Tuple c = std::move(b);  // move: no new reference
      CHECK(refs(a) == 2);
      CHECK(b == gale::Tuple());
      CHECK(c.get_string(0) == "kept");
      c = c;  // self-assignment keeps it
      CHECK(refs(a) == 2);
      gale::Tuple d = make_tuple();
      d = a;  // drops d's own tuple, shares a's
      CHECK(refs(a) == 3);
      d = std::move(c);
      CHECK(refs(a) == 2);
    }
    CHECK(refs(a) == 1);
    std::vector<gale::Tuple> many(100, a);
    CHECK(refs(a) == 101);
    many.clear();
    CHECK(refs(a) == 1);
    CHECK(a.get_int(1) == 7);
  }

  TEST_CASE("BasicBoltAdapter anchors emits and acks the input when execute returns") {
    auto record = std::make_shared<BasicRecord>();
    gale::BasicBoltAdapter adapter(std::make_unique<TestBasicBolt>(Outcome::ok, record));
    RecordingCollector out;
    const gale::Tuple input = make_tuple();
    const gale::Tuple other = make_tuple();
    REQUIRE_FALSE(input == other);

    adapter.execute(input, out);
    REQUIRE(out.emits.size() == 2);
    CHECK(out.emits[0].stream == "default");
    CHECK(out.emits[1].stream == "side");
    for (const auto& emit : out.emits) {
      REQUIRE(emit.anchors.size() == 1);
      CHECK(emit.anchors[0] == input);
    }
    CHECK(out.emits[0].values == gale::Values{1});
    CHECK(out.errors == std::vector<std::string>{"note"});
    REQUIRE(out.acked.size() == 1);
    CHECK(out.acked[0] == input);
    CHECK(out.failed.empty());
  }

  TEST_CASE("BasicBoltAdapter fails the input on FailedException without rethrowing") {
    gale::BasicBoltAdapter adapter(std::make_unique<TestBasicBolt>(
        Outcome::failed_exception, std::make_shared<BasicRecord>()));
    RecordingCollector out;
    const gale::Tuple input = make_tuple();
    CHECK_NOTHROW(adapter.execute(input, out));
    REQUIRE(out.failed.size() == 1);
    CHECK(out.failed[0] == input);
    CHECK(out.acked.empty());
  }

  TEST_CASE("BasicBoltAdapter fails the input on other exceptions and rethrows them") {
    gale::BasicBoltAdapter adapter(
        std::make_unique<TestBasicBolt>(Outcome::other_exception, std::make_shared<BasicRecord>()));
    RecordingCollector out;
    const gale::Tuple input = make_tuple();
    CHECK_THROWS_WITH_AS(adapter.execute(input, out), "bug in bolt", std::logic_error);
    REQUIRE(out.failed.size() == 1);
    CHECK(out.failed[0] == input);
    CHECK(out.acked.empty());
  }

  TEST_CASE("BasicBoltAdapter forwards the lifecycle, outputs and config") {
    auto record = std::make_shared<BasicRecord>();
    TopologyBuilder b;
    b.set_spout("words", gale::make<TestSpout>());
    b.set_bolt("basic", gale::make<TestBasicBolt>(Outcome::ok, record), 2)
        .shuffle_grouping("words")
        .add_configuration("app.x", 1);
    auto t = b.build();  // declare_outputs and component_config through make<> and the adapter
    const auto& basic = t.component("basic");
    CHECK(basic.streams.size() == 2);
    CHECK(basic.find_stream("side") != nullptr);
    CHECK(basic.config.get_int("basic.key", 0) == 3);
    CHECK(basic.config.get_int("app.x", 0) == 1);

    auto bolt = basic.bolt();
    CHECK(dynamic_cast<gale::BasicBoltAdapter*>(bolt.get()) != nullptr);
    gale::TaskLayout layout(t, 0);
    gale::Context context(t, layout, {}, layout.tasks_of("basic")[1]);
    RecordingCollector out;
    bolt->prepare(context, out);
    CHECK(record->prepared == 1);
    CHECK(record->prepared_task == 2);
    bolt->cleanup();
    CHECK(record->cleaned == 1);
    CHECK_THROWS_AS(gale::BasicBoltAdapter(nullptr), TopologyError);
  }
}
