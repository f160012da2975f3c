#include <doctest/doctest.h>

#include <map>
#include <set>

#include <gale/gale.hpp>

#include "topology/src/plan.hpp"
#include "worker/groupers.hpp"

using namespace gale;
using gale::detail::Plan;
using gale::worker::GrouperArgs;

namespace {

class WordSpout : public Spout {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"word", "n"}); }
  void open(const Context&, SpoutCollector&) override {}
  void next_tuple() override {}
};

class Sink : public Bolt {
 public:
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple&, BoltCollector&) override {}
};

// Picks task = n % 4 + first target; once in a while a task that does not subscribe.
class ModuloGrouping : public CustomStreamGrouping {
 public:
  void prepare(const Context&, const std::string& stream,
               const std::vector<std::int32_t>& tasks) override {
    prepared_stream = stream;
    tasks_ = tasks;
  }
  void choose_tasks(std::int32_t, const Values& values, std::vector<std::int32_t>& out) override {
    auto n = values[1].as_int();
    out.push_back(n == 13 ? 9999 : tasks_[static_cast<std::size_t>(n) % tasks_.size()]);
  }
  std::string prepared_stream;

 private:
  std::vector<std::int32_t> tasks_;
};

// One spout task (id of "s" is after "b" in id order) and a 4-task bolt subscribed as `subscribe`.
struct Fixture {
  template <class F>
  explicit Fixture(F subscribe) {
    TopologyBuilder b;
    b.set_spout("s", make<WordSpout>());
    subscribe(b.set_bolt("b", make<Sink>(), 4));
    topology = std::make_unique<Topology>(b.build());
    plan = std::make_unique<Plan>(*topology, Config{});
    spout_task = plan->layout().tasks_of("s").front();
    context = std::make_unique<Context>(*topology, plan->layout(), Config{}, spout_task);
  }
  std::unique_ptr<worker::Grouper> grouper(std::vector<std::int32_t> local = {},
                                           std::function<void(const std::string&)> errors = {}) {
    const auto& s = plan->component(topology->find("s") - topology->components().data());
    GrouperArgs args;
    args.context = context.get();
    args.stream = "default";
    args.local_tasks = std::move(local);
    args.seed = 42;
    args.report_error = std::move(errors);
    return worker::make_grouper(s.streams[0].subscribers[0], std::move(args));
  }
  const std::vector<std::int32_t>& targets() const { return plan->layout().tasks_of("b"); }

  std::unique_ptr<Topology> topology;
  std::unique_ptr<Plan> plan;
  std::unique_ptr<Context> context;
  std::int32_t spout_task = 0;
};

std::map<std::int32_t, int> spread(worker::Grouper& g, int tuples,
                                   std::function<Values(int)> values) {
  std::map<std::int32_t, int> counts;
  std::vector<std::int32_t> out;
  for (int i = 0; i < tuples; ++i) {
    out.clear();
    g.choose(values(i), out);
    for (auto t : out) ++counts[t];
  }
  return counts;
}

Values word(int i) { return {"w" + std::to_string(i % 50), i}; }

}  // namespace

TEST_SUITE("groupings") {
  TEST_CASE("shuffle spreads evenly over every task") {
    Fixture f([](BoltDeclarer& d) { d.shuffle_grouping("s"); });
    auto counts = spread(*f.grouper(), 4000, word);
    REQUIRE(counts.size() == 4);
    for (auto [task, n] : counts) {
      CHECK(std::count(f.targets().begin(), f.targets().end(), task) == 1);
      CHECK(n == 1000);  // round-robin over a shuffled order: exact per round
    }
  }

  TEST_CASE("fields sends equal keys to one task, and agrees across emitters") {
    Fixture f([](BoltDeclarer& d) { d.fields_grouping("s", {"word"}); });
    auto g1 = f.grouper();
    auto g2 = f.grouper();
    std::map<std::string, std::int32_t> owner;
    std::set<std::int32_t> used;
    std::vector<std::int32_t> o1, o2;
    for (int i = 0; i < 1000; ++i) {
      Values v = word(i);
      o1.clear();
      o2.clear();
      g1->choose(v, o1);
      g2->choose(v, o2);
      REQUIRE(o1.size() == 1);
      CHECK(o1 == o2);
      auto [it, inserted] = owner.emplace(v[0].as_string(), o1[0]);
      CHECK(it->second == o1[0]);
      used.insert(o1[0]);
    }
    CHECK(used.size() == 4);  // 50 keys land on every one of 4 tasks
    // Only the grouping field matters: the same word with another n goes to the same task.
    o1.clear();
    g1->choose({"w7", 123456}, o1);
    CHECK(o1[0] == owner["w7"]);
  }

  TEST_CASE("all sends every tuple to every task") {
    Fixture f([](BoltDeclarer& d) { d.all_grouping("s"); });
    auto counts = spread(*f.grouper(), 10, word);
    REQUIRE(counts.size() == 4);
    for (auto [task, n] : counts) CHECK(n == 10);
  }

  TEST_CASE("global sends everything to the lowest task") {
    Fixture f([](BoltDeclarer& d) { d.global_grouping("s"); });
    auto counts = spread(*f.grouper(), 100, word);
    REQUIRE(counts.size() == 1);
    CHECK(counts.begin()->first == f.targets().front());
    CHECK(counts.begin()->second == 100);
  }

  TEST_CASE("none spreads over the tasks") {
    Fixture f([](BoltDeclarer& d) { d.none_grouping("s"); });
    auto counts = spread(*f.grouper(), 4000, word);
    REQUIRE(counts.size() == 4);
    for (auto [task, n] : counts) CHECK(n > 700);
  }

  TEST_CASE("direct grouping has no grouper: the emitter picks") {
    TopologyBuilder b;
    class DirectSpout : public WordSpout {
      void declare_outputs(OutputDeclarer& d) override { d.declare_direct({"word", "n"}); }
    };
    b.set_spout("s", make<DirectSpout>());
    b.set_bolt("b", make<Sink>(), 2).direct_grouping("s");
    Topology t = b.build();
    Plan plan(t, Config{});
    const auto& s = plan.component(t.find("s") - t.components().data());
    CHECK(s.streams[0].direct);
    CHECK(worker::make_grouper(s.streams[0].subscribers[0], GrouperArgs{}) == nullptr);
  }

  TEST_CASE("local or shuffle prefers tasks of this worker, else shuffles over all") {
    Fixture f([](BoltDeclarer& d) { d.local_or_shuffle_grouping("s"); });
    std::vector<std::int32_t> local = {f.targets()[1], f.targets()[3], f.spout_task};
    auto counts = spread(*f.grouper(local), 1000, word);
    REQUIRE(counts.size() == 2);
    CHECK(counts[f.targets()[1]] == 500);
    CHECK(counts[f.targets()[3]] == 500);

    auto remote = spread(*f.grouper({f.spout_task}), 1000, word);
    CHECK(remote.size() == 4);
  }

  TEST_CASE("partial key splits a hot key over at most two tasks") {
    Fixture f([](BoltDeclarer& d) { d.partial_key_grouping("s", {"word"}); });
    auto g = f.grouper();
    auto hot = spread(*g, 1000, [](int i) { return Values{"hot", i}; });
    CHECK(hot.size() <= 2);
    if (hot.size() == 2) {
      for (auto [task, n] : hot) CHECK(n == 500);  // the less loaded candidate wins each time
    }
    auto many = spread(*f.grouper(), 4000, word);
    CHECK(many.size() == 4);
  }

  TEST_CASE("custom grouping decides; tasks outside the targets are dropped and reported") {
    auto grouping = std::make_shared<ModuloGrouping*>(nullptr);
    Fixture f([grouping](BoltDeclarer& d) {
      d.custom_grouping("s", [grouping]() {
        auto g = std::make_unique<ModuloGrouping>();
        *grouping = g.get();
        return g;
      });
    });
    std::vector<std::string> errors;
    auto g = f.grouper({}, [&](const std::string& e) { errors.push_back(e); });
    REQUIRE(*grouping != nullptr);
    CHECK((*grouping)->prepared_stream == "default");
    std::vector<std::int32_t> out;
    g->choose({"x", 6}, out);
    CHECK(out == std::vector<std::int32_t>{f.targets()[2]});
    out.clear();
    g->choose({"x", 13}, out);
    CHECK(out.empty());
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("9999") != std::string::npos);
  }
}
