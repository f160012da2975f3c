// The Kafka scenarios: librdkafka's mock cluster (the real Kafka protocol on loopback, in the
// kafka_mock_cluster helper process the connector's tests use) holding pre-produced records, read
// by KafkaSpout -> no-op or by a plain librdkafka consumer.

#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gale/spouts/kafka_spout.hpp>

#include "bench/connector_runs.hpp"
#include "bench/topologies.hpp"
#include "tests/connectors/kafka/kafka_test_support.hpp"

#ifndef KAFKA_MOCK_CLUSTER
#error "KAFKA_MOCK_CLUSTER must name the kafka_mock_cluster helper"
#endif

namespace gale::bench {

namespace {

constexpr const char* k_topic = "bench";
// The mock cluster keeps at most 100,000 records (and 5 MB) per partition, dropping the oldest
// beyond: 8 partitions hold k_records with room to spare however the producer spreads them.
constexpr int k_partitions = 8;
// Both readers commit this often: the spout through kafka.offset.commit.period.ms.
constexpr std::int64_t k_commit_period_ms = 1000;
// librdkafka's queued.min.messages for both readers. Its fetcher stops every partition once the
// consumer's queue holds this many records (the partitions' queues are forwarded to one, whose
// length they all see) and, in librdkafka 2.0, looks again only about a second later; a reader
// faster than the fetches but slower than the broker then idles for most of that second. The
// default (100,000) made both readers stall at random in a run of 300,000 records; with all of
// them allowed to queue, neither does, and the figures compare the readers.
constexpr const char* k_queued_min_messages = "1000000";
// Enough for windows of about a second at the plain consumer's rate on two shared cores.
constexpr std::int64_t k_records = 300'000;

// The mock cluster (one broker) with k_records records in k_topic: the bench's sentences as
// values, no keys (librdkafka spreads them over the partitions).
class KafkaSource final : public ConnectorSource {
 public:
  explicit KafkaSource(std::int64_t records) : cluster_(1, {{k_topic, k_partitions}}) {
    constexpr std::int64_t k_chunk = 50'000;  // bounds the producer's copy of the records
    for (std::int64_t first = 0; first < records; first += k_chunk) {
      std::vector<test::kafka::Record> chunk;
      for (std::int64_t i = first; i < std::min(records, first + k_chunk); ++i) {
        const auto sentence = static_cast<std::size_t>(i % k_sentence_count);
        chunk.push_back({"", std::string(k_sentences[sentence])});
      }
      test::kafka::produce(cluster_.bootstrap(), k_topic, chunk);
    }
  }
  [[nodiscard]] std::string address() const override { return cluster_.bootstrap(); }

 private:
  test::kafka::MockCluster cluster_;
};

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};

void set(rd_kafka_conf_t* conf, const char* property, const std::string& value) {
  char reason[512] = {};
  if (rd_kafka_conf_set(conf, property, value.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("plain consumer: ") + property + ": " + reason);
  }
}

// The plain client: one member of the run's group subscribed to the topic, a
// rd_kafka_consumer_poll loop that only counts the records, and an asynchronous commit of the
// consumed positions every k_commit_period_ms (what the spout does, but for records done).
Figures run_plain(const ConnectorRunOptions& o) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o.source);
  set(conf, "group.id", o.group);
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "log_level", "3");
  set(conf, "queued.min.messages", k_queued_min_messages);
  char reason[512] = {};
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
  if (raw == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("plain consumer: ") + reason);
  }
  const std::unique_ptr<rd_kafka_t, HandleDeleter> rk(raw);
  rd_kafka_poll_set_consumer(rk.get());
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, k_topic, RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t subscribed = rd_kafka_subscribe(rk.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (subscribed) {
    throw std::runtime_error(std::string("plain consumer: subscribe: ") +
                             rd_kafka_err2str(subscribed));
  }
  RecordWindow window(o.warmup_records, o.records, o.timeout_s);
  std::int64_t done = 0;
  std::int64_t bytes = 0;
  const auto period = std::chrono::milliseconds(k_commit_period_ms);
  auto next_commit = std::chrono::steady_clock::now() + period;
  while (!window.observe(done)) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (m != nullptr) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++done;
        bytes += static_cast<std::int64_t>(m->len);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        const std::string error = rd_kafka_message_errstr(m);
        rd_kafka_message_destroy(m);
        throw std::runtime_error("plain consumer: " + error);
      }
      rd_kafka_message_destroy(m);
    }
    if (std::chrono::steady_clock::now() >= next_commit) {
      rd_kafka_commit(rk.get(), nullptr, /*async=*/1);
      next_commit += period;
    }
  }
  Figures f = window.figures();
  f["bytes"] = static_cast<double>(bytes);
  rd_kafka_consumer_close(rk.get());
  return f;
}

Figures run_spout(const ConnectorRunOptions& o) {
  gale::Config config;
  config.set("kafka.bootstrap.servers", o.source);
  config.set("kafka.topics", std::string(k_topic));
  config.set("kafka.group.id", o.group);
  config.set("kafka.first.poll.offset.strategy", "earliest");
  config.set("kafka.offset.commit.period.ms", k_commit_period_ms);
  config.set("kafka.consumer.queued.min.messages", k_queued_min_messages);
  return run_spout_to_noop(gale::make<gale::spouts::KafkaSpout>(config), o);
}

}  // namespace

ConnectorBench kafka_bench() {
  ConnectorBench b;
  b.id = "kafka";
  b.records = k_records;
  b.missing = []() -> std::optional<std::string> {
    if (::access(KAFKA_MOCK_CLUSTER, X_OK) == 0) return std::nullopt;
    return std::string("the mock cluster helper ") + KAFKA_MOCK_CLUSTER +
           " is not built (ninja bench-suite builds it)";
  };
  b.start = [] { return std::make_unique<KafkaSource>(k_records); };
  b.run = [](const ConnectorRunOptions& o) { return o.spout ? run_spout(o) : run_plain(o); };
  return b;
}

}  // namespace gale::bench
