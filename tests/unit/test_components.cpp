#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gale/bolts/split_sentence_bolt.hpp>
#include <gale/bolts/word_count_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/fixed_tuple_spout.hpp>
#include <gale/spouts/sentence_spout.hpp>
#include <gale/testing.hpp>

// Tests of the built-in components (spouts/, bolts/): run in topologies on the test kit's simulated
// time, with the exact tuples and message ids they must produce.

namespace {

using namespace gale;
using namespace std::chrono_literals;
using bolts::SplitSentenceBolt;
using bolts::WordCountBolt;
using bolts::WordCountOptions;
using spouts::FixedTupleSpout;
using spouts::SentenceSpout;
using spouts::SentenceSpoutOptions;
using testing::complete_topology;

// What a spout's ack() and fail() saw, per message id; shared by its tasks.
struct Ledger {
  std::mutex mutex;
  std::map<std::int64_t, int> acked;
  std::map<std::int64_t, int> failed;
};

// Spout S that records the ids it is told about in a Ledger before S handles them.
// Thread: all callbacks of one task run on that task's executor thread.
template <class S>
class Recorded final : public S {
 public:
  template <class... Args>
  explicit Recorded(std::shared_ptr<Ledger> ledger, Args&&... args)
      : S(std::forward<Args>(args)...), ledger_(std::move(ledger)) {}

  void ack(const MessageId& id) override {
    {
      std::lock_guard lock(ledger_->mutex);
      ++ledger_->acked[id.as_int()];
    }
    S::ack(id);
  }
  void fail(const MessageId& id) override {
    {
      std::lock_guard lock(ledger_->mutex);
      ++ledger_->failed[id.as_int()];
    }
    S::fail(id);
  }

 private:
  std::shared_ptr<Ledger> ledger_;
};

// Fails the first input whose first field equals `victim` (per task), acks every other.
// Thread: all callbacks of one task run on that task's executor thread.
class FailOnceBolt final : public Bolt {
 public:
  explicit FailOnceBolt(Value victim) : victim_(std::move(victim)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    if (!failed_ && input.get(0) == victim_) {
      failed_ = true;
      out.fail(input);
      return;
    }
    out.ack(input);
  }

 private:
  Value victim_;
  bool failed_ = false;
};

// Acks nothing: every tree stays pending until it times out.
// Thread: all callbacks of one task run on that task's executor thread.
class HoldBolt final : public Bolt {
 public:
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple&, BoltCollector&) override {}
};

std::vector<std::string> strings_of(const std::vector<Values>& tuples, std::size_t field = 0) {
  std::vector<std::string> out;
  for (const Values& v : tuples) out.push_back(v[field].as_string());
  return out;
}

// Every id in [0, n) once.
std::map<std::int64_t, int> each_once(std::int64_t n) {
  std::map<std::int64_t, int> ids;
  for (std::int64_t i = 0; i < n; ++i) ids[i] = 1;
  return ids;
}

}  // namespace

TEST_SUITE("components") {
  TEST_CASE("split and count give the exact words and counts of known sentences") {
    const std::vector<Values> input = {{"the cow jumped over the moon"}, {"  the  moon "}, {""}};
    TopologyBuilder b;
    b.set_spout("sentences", make<FixedTupleSpout>(Fields{"sentence"}, input));
    b.set_bolt("split", make<SplitSentenceBolt>()).shuffle_grouping("sentences");
    b.set_bolt("count", make<WordCountBolt>()).fields_grouping("split", {"word"});
    auto result = complete_topology(b.build());

    // One task each, so the order is the input's; no empty word from extra spaces.
    CHECK(strings_of(result.emitted("split")) ==
          std::vector<std::string>{"the", "cow", "jumped", "over", "the", "moon", "the", "moon"});
    std::vector<std::pair<std::string, std::int64_t>> counted;
    for (const Values& v : result.emitted("count"))
      counted.emplace_back(v[0].as_string(), v[1].as_int());
    CHECK(counted == std::vector<std::pair<std::string, std::int64_t>>{{"the", 1},
                                                                       {"cow", 1},
                                                                       {"jumped", 1},
                                                                       {"over", 1},
                                                                       {"the", 2},
                                                                       {"moon", 1},
                                                                       {"the", 3},
                                                                       {"moon", 2}});
    // Anchored and acked: every sentence's tree completed, nothing failed.
    CHECK(result.counts("sentences").acked == input.size());
    CHECK(result.counts("sentences").failed == 0);
    CHECK(result.counts("split").acked == input.size());
    CHECK(result.counts("count").acked == 8);
  }

  TEST_CASE("counts stay exact over several tasks with a fields grouping") {
    std::vector<Values> input;
    for (int i = 0; i < 40; ++i) input.push_back({i % 2 == 0 ? "a b a" : "c a"});
    TopologyBuilder b;
    b.set_spout("sentences", make<FixedTupleSpout>(Fields{"sentence"}, input), 2);
    b.set_bolt("split", make<SplitSentenceBolt>(), 3).shuffle_grouping("sentences");
    b.set_bolt("count", make<WordCountBolt>(), 2).fields_grouping("split", {"word"});
    auto result = complete_topology(b.build());

    std::map<std::string, std::int64_t> highest;
    for (const Values& v : result.emitted("count")) {
      auto& c = highest[v[0].as_string()];
      c = std::max(c, v[1].as_int());
    }
    CHECK(highest == std::map<std::string, std::int64_t>{{"a", 60}, {"b", 20}, {"c", 20}});
  }

  TEST_CASE("a word count without emitted counts declares no output and ignores ticks") {
    TopologyBuilder b;
    b.set_spout("sentences", make<FixedTupleSpout>(Fields{"sentence"}, std::vector<Values>{{"x"}}));
    b.set_bolt("count", make<WordCountBolt>(WordCountOptions{.emit_counts = false}))
        .shuffle_grouping("sentences")
        .add_configuration(keys::topology_tick_tuple_freq_secs, 1);
    TopologyBuilder subscribed;
    subscribed.set_spout("s", make<FixedTupleSpout>(Fields{"sentence"}, std::vector<Values>{}));
    subscribed.set_bolt("count", make<WordCountBolt>(WordCountOptions{.emit_counts = false}))
        .shuffle_grouping("s");
    subscribed.set_bolt("after", make<FailOnceBolt>(Value("x"))).shuffle_grouping("count");
    CHECK_THROWS_AS(subscribed.build(), TopologyError);

    testing::TrackedTopology tracked(b.build());
    tracked.run_to_completion();
    tracked.advance_time(3s);  // three ticks: neither counted nor failed
    auto result = tracked.result();
    CHECK(result.emitted("count").empty());
    CHECK(result.counts("count").executed == 4);
    CHECK(result.counts("count").acked == 1);
    CHECK(result.counts("count").failed == 0);
    CHECK(result.counts("count").errors == 0);
  }

  TEST_CASE("the sentence spout emits its sentences in turn, spread over its tasks") {
    SentenceSpoutOptions options;
    options.sentences = {"x y", "z"};
    options.limit = 5;
    for (int tasks : {1, 2}) {
      CAPTURE(tasks);
      auto ledger = std::make_shared<Ledger>();
      TopologyBuilder b;
      b.set_spout("sentences", make<Recorded<SentenceSpout>>(ledger, options), tasks);
      b.set_bolt("split", make<SplitSentenceBolt>()).shuffle_grouping("sentences");
      auto result = complete_topology(b.build());

      auto emitted = strings_of(result.emitted("sentences"));
      std::sort(emitted.begin(), emitted.end());
      CHECK(emitted == std::vector<std::string>{"x y", "x y", "x y", "z", "z"});
      CHECK(ledger->acked == each_once(5));
      CHECK(ledger->failed.empty());
      CHECK(result.emitted("split").size() == 8);
    }
  }

  TEST_CASE("the sentence spout replays a failed id, once per failure") {
    SentenceSpoutOptions options;
    options.sentences = {"x y", "z"};
    options.limit = 4;  // numbers 0 to 3: "x y", "z", "x y", "z"
    auto ledger = std::make_shared<Ledger>();
    TopologyBuilder b;
    b.set_spout("sentences", make<Recorded<SentenceSpout>>(ledger, options));
    b.set_bolt("flaky", make<FailOnceBolt>(Value("z"))).shuffle_grouping("sentences");
    auto result = complete_topology(b.build());

    CHECK(ledger->failed == std::map<std::int64_t, int>{{1, 1}});
    CHECK(ledger->acked == each_once(4));  // id 1 too, after its replay
    CHECK(strings_of(result.emitted("sentences")) ==
          std::vector<std::string>{"x y", "z", "x y", "z", "z"});
    CHECK(result.counts("sentences").failed == 1);
  }

  TEST_CASE("the sentence spout stays within topology.max.spout.pending") {
    TopologyBuilder b;
    b.set_spout("sentences", make<SentenceSpout>()).set_max_spout_pending(3);
    b.set_bolt("hold", make<HoldBolt>()).shuffle_grouping("sentences");
    testing::TrackedTopology tracked(b.build());
    tracked.wait_idle();  // no tree completes, so the spout stops at 3 pending
    CHECK(tracked.pending_trees() == 3);
    CHECK(tracked.result().emitted("sentences").size() == 3);
  }

  TEST_CASE("the sentence spout refuses no sentences and a negative limit") {
    CHECK_THROWS_AS(SentenceSpout(SentenceSpoutOptions{.sentences = {}}), ConfigError);
    CHECK_THROWS_AS(SentenceSpout(SentenceSpoutOptions{.limit = -1}), ConfigError);
  }

  TEST_CASE("the fixed-tuple spout emits each tuple once and replays a failed one") {
    std::vector<Values> input;
    for (std::int64_t i = 0; i < 6; ++i) input.push_back({i * 10});
    for (int tasks : {1, 3}) {
      CAPTURE(tasks);
      auto ledger = std::make_shared<Ledger>();
      TopologyBuilder b;
      b.set_spout("numbers", make<Recorded<FixedTupleSpout>>(ledger, Fields{"n"}, input, "numbers"),
                  tasks);
      b.set_bolt("flaky", make<FailOnceBolt>(Value(std::int64_t{30})))
          .shuffle_grouping("numbers", "numbers");
      auto result = complete_topology(b.build());

      CHECK(result.emitted("numbers").empty());  // nothing on the default stream
      std::map<std::int64_t, int> emitted;
      for (const Values& v : result.emitted("numbers", "numbers")) ++emitted[v[0].as_int()];
      CHECK(emitted ==
            std::map<std::int64_t, int>{{0, 1}, {10, 1}, {20, 1}, {30, 2}, {40, 1}, {50, 1}});
      CHECK(ledger->failed == std::map<std::int64_t, int>{{3, 1}});  // id = index
      CHECK(ledger->acked == each_once(6));
    }
  }
}
