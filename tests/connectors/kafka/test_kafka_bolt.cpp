#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gale/bolts/kafka_bolt.hpp>
#include <gale/errors.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/kafka_spout.hpp>

#include "tests/connectors/kafka/kafka_test_support.hpp"

// KafkaBolt against the mock cluster, in local mode on the real clock, fed by a spout that counts
// the acks and failures of its tuples; and invalid connector configs failing the build.

using namespace gale;
using namespace std::chrono_literals;
using namespace gale::test::kafka;

namespace {

// How each tuple of the spout ended, by message id.
struct Outcomes {
  enum class End { acked, failed };
  std::mutex mutex;
  std::map<std::int64_t, End> ends;
  void record(const MessageId& id, End end) {
    std::lock_guard lock(mutex);
    ends[id.as_int()] = end;
  }
  std::size_t count(End end) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(
        std::count_if(ends.begin(), ends.end(), [&](const auto& e) { return e.second == end; }));
  }
  std::size_t acked_count() { return count(End::acked); }
  std::size_t failed_count() { return count(End::failed); }
};

// Emits ("id", "word", "n") tuples [0, count) once each, reliably, and records how each ended.
class CountingSpout : public Spout {
 public:
  CountingSpout(std::shared_ptr<Outcomes> outcomes, int count)
      : outcomes_(std::move(outcomes)), count_(count) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"id", "word", "n"}); }
  void open(const Context&, SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    if (next_ < count_) {
      out_->emit({"id-" + std::to_string(next_), "word-" + std::to_string(next_), next_}, next_);
      ++next_;
    }
  }
  void ack(const MessageId& id) override { outcomes_->record(id, Outcomes::End::acked); }
  void fail(const MessageId& id) override { outcomes_->record(id, Outcomes::End::failed); }

 private:
  std::shared_ptr<Outcomes> outcomes_;
  int count_;
  SpoutCollector* out_ = nullptr;
  std::int64_t next_ = 0;
};

Config bolt_config(const MockCluster& kafka, const std::string& topic) {
  Config c;
  c.set("kafka.bootstrap.servers", kafka.bootstrap());
  c.set("kafka.topic", topic);
  c.set("kafka.key.field", "id");
  c.set("kafka.value.field", "word");
  c.set("kafka.producer.linger.ms", 5);
  return c;
}

Topology sink(const Config& bolt, std::shared_ptr<Outcomes> outcomes, int count, int tasks = 2) {
  TopologyBuilder b;
  b.set_spout("words", make<CountingSpout>(outcomes, count), 1);
  b.set_bolt("kafka", make<bolts::KafkaBolt>(bolt), tasks).shuffle_grouping("words");
  return b.build();
}

std::string build_error(const std::function<void(TopologyBuilder&)>& add) {
  try {
    TopologyBuilder b;
    add(b);
    (void)b.build();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("connector_kafka") {
  TEST_CASE("KafkaBolt writes each input with its key and value and acks it after delivery") {
    constexpr int k_tuples = 2000;
    MockCluster kafka(1, {{"words", 3}});
    auto outcomes = std::make_shared<Outcomes>();
    LocalRun run(sink(bolt_config(kafka, "words"), outcomes, k_tuples), Config());
    CHECK(eventually([&] { return outcomes->acked_count() == k_tuples; }, 30s));
    CHECK(outcomes->failed_count() == 0);
    const std::vector<Record> records = consume(kafka.bootstrap(), "words", 3, k_tuples, 30s);
    REQUIRE(records.size() == k_tuples);
    std::set<std::string> values;
    for (const Record& r : records) {
      REQUIRE(r.key.substr(0, 3) == "id-");
      CHECK(r.value == "word-" + r.key.substr(3));
      values.insert(r.value);
    }
    CHECK(values.size() == k_tuples);
  }

  TEST_CASE("KafkaBolt fails its input when the delivery fails, and reports it") {
    MockCluster kafka(1, {{"words", 1}});
    auto outcomes = std::make_shared<Outcomes>();
    kafka.command("down 1");
    Config config = bolt_config(kafka, "words");
    config.set("kafka.producer.message.timeout.ms", 1500);
    LocalRun run(sink(config, outcomes, 20), Config());
    CHECK(eventually([&] { return outcomes->failed_count() == 20; }, 30s));
    CHECK(outcomes->acked_count() == 0);
    CHECK(eventually(
        [&] {
          return run.stats("kafka").last_error.find("delivery to topic 'words' failed") !=
                 std::string::npos;
        },
        10s));
    CHECK(run.stats("kafka").last_error.find("KafkaBolt: brokers " + kafka.bootstrap()) == 0);
  }

  TEST_CASE("KafkaBolt fails a tuple whose fields cannot make a record, naming it and why") {
    MockCluster kafka(1, {{"words", 1}});
    auto outcomes = std::make_shared<Outcomes>();
    Config config = bolt_config(kafka, "words");
    config.set("kafka.value.field", "n");  // an integer
    LocalRun run(sink(config, outcomes, 5, 1), Config());
    CHECK(eventually([&] { return outcomes->failed_count() == 5; }, 30s));
    CHECK(outcomes->acked_count() == 0);
    CHECK(run.stats("kafka").last_error ==
          "KafkaBolt: brokers " + kafka.bootstrap() +
              ": cannot map tuple [\"id-0\", \"word-0\", 0] to a record: field 'n' is int, not "
              "string or bytes");
    CHECK(run.stats("kafka").errors == 1);  // one report for the five, not one per tuple
  }

  TEST_CASE("an invalid Kafka connector config fails the build, naming the key") {
    Config spout;
    spout.set("kafka.bootstrap.servers", "127.0.0.1:9");
    spout.set("kafka.topics", "t");
    spout.set("kafka.group.id", "g");
    Config bad = spout;
    bad.set("kafka.max.uncommitted.offsets", -3);
    CHECK(build_error([&](TopologyBuilder& b) {
            b.set_spout("in", make<spouts::KafkaSpout>(bad));
          }).find("KafkaSpout: config key 'kafka.max.uncommitted.offsets' must be an integer") !=
          std::string::npos);
    bad = spout;
    bad.set("kafka.first.poll.offset.strategy", "newest");
    CHECK(build_error([&](TopologyBuilder& b) {
            b.set_spout("in", make<spouts::KafkaSpout>(bad));
          }).find("'kafka.first.poll.offset.strategy'") != std::string::npos);
    bad = spout;
    bad.set("kafka.consumer.session.timeout.ms", "soon");
    CHECK(build_error([&](TopologyBuilder& b) {
            b.set_spout("in", make<spouts::KafkaSpout>(bad));
          }).find("config key 'kafka.consumer.session.timeout.ms' is not accepted by librdkafka") !=
          std::string::npos);

    Config bolt;
    bolt.set("kafka.bootstrap.servers", "127.0.0.1:9");
    const std::string missing_topic = build_error([&](TopologyBuilder& b) {
      b.set_spout("in", make<spouts::KafkaSpout>(spout));
      b.set_bolt("out", make<bolts::KafkaBolt>(bolt)).shuffle_grouping("in");
    });
    CHECK(missing_topic.find("KafkaBolt: config key 'kafka.topic' is required") !=
          std::string::npos);
    bolt.set("kafka.topic", "t");
    bolt.set("kafka.valu.field", "word");
    CHECK(build_error([&](TopologyBuilder& b) {
            b.set_spout("in", make<spouts::KafkaSpout>(spout));
            b.set_bolt("out", make<bolts::KafkaBolt>(bolt)).shuffle_grouping("in");
          }).find("unknown config key 'kafka.valu.field'") != std::string::npos);
  }
}
