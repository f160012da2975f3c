#pragma once

// A reliable spout reading Kafka topics as a consumer group (storm-kafka-client's KafkaSpout), on
// librdkafka. Part of libgale_kafka (pkg-config module gale-kafka). Keys: docs/connectors.md.

#include <memory>

#include <gale/config.hpp>
#include <gale/config_schema.hpp>
#include <gale/spout.hpp>

namespace gale::spouts {

// Each task is a member of the consumer group kafka.group.id, so the group protocol spreads the
// partitions of kafka.topics over the tasks (and over any other member of the group). A record goes
// out as ("topic", "partition", "offset", "key", "value") with message id [topic, partition,
// offset]; key and value are strings, or bytes with kafka.payload.type = bytes (a missing key is
// null). Offsets are committed to Kafka (every kafka.offset.commit.period.ms, when a partition is
// half way to kafka.max.uncommitted.offsets, on a revoke and on close) only up to the lowest
// record of each partition not yet done, so a restart or a new owner of the partition loses
// nothing. A failed record goes out again after the kafka.retry.* backoff;
// after kafka.retry.max retries it goes to the error stream (kafka.error.stream, fields
// "position", "record", "reason") with the same message id, and counts as done once that tuple is
// acked. A partition with kafka.max.uncommitted.offsets records past its commit is paused until
// commits bring it below the cap. Client errors (a broker unreachable or lost) are reported with
// report_error, naming the brokers; the consumer keeps polling and resumes where it was.
//
// Where an assigned partition starts (kafka.first.poll.offset.strategy, storm-kafka-client's
// FirstPollOffsetStrategy): every commit carries the deployment's topology.id as its metadata
// ("gale:<topology.id>"). earliest / latest start at the beginning / the end of a partition whose
// commit another deployment made (or that has none), and resume from the commit this deployment
// made, so that a topology submitted again starts over once while a restarted worker, or a
// partition moving between tasks of one deployment, loses nothing; they need topology.id, which
// Gale sets (open() throws gale::Error without it). The offset they start at is committed at once.
// uncommitted_earliest (the default) / uncommitted_latest resume from the group's commit,
// whoever made it, and start at the beginning / the end without one. Under earliest and latest,
// an assignment asks the brokers for the group's commits and the partitions' ends, waiting for
// each answer at most 10 s (inside next_tuple(), where the rebalance callback runs).
//
// next_tuple() never blocks: it polls librdkafka without waiting, at most kafka.poll.max.records
// records a call; librdkafka's callbacks (rebalance, commit results, errors) run inside that poll,
// on the task's thread. deactivate() commits what is done. close() commits and leaves the group,
// waiting for the coordinator at most about kafka.consumer.session.timeout.ms. While next_tuple()
// is not called (deactivated, or at topology.max.spout.pending) the consumer is not polled either:
// a rebalance waits for it, and after kafka.consumer.max.poll.interval.ms the group drops it and
// gives its partitions to the other members (its records are read again from the commit).
// Thread: all callbacks of one task run on that task's executor thread.
class KafkaSpout : public Spout {
 public:
  // Checks `config` (the kafka.* keys) against schema(). Throws ConfigError naming the key when a
  // key is missing, mistyped, out of range, unknown, or a kafka.consumer.* property is rejected by
  // librdkafka.
  explicit KafkaSpout(const Config& config);
  ~KafkaSpout() override;

  // The keys KafkaSpout accepts, with their defaults.
  static const ConfigSchema& schema();

  void declare_outputs(OutputDeclarer& declarer) override;
  // Creates the consumer and subscribes. Throws gale::Error when librdkafka refuses.
  void open(const Context& context, SpoutCollector& out) override;
  void next_tuple() override;
  void ack(const MessageId& id) override;
  void fail(const MessageId& id) override;
  void deactivate() override;
  void close() override;

 private:
  class Impl;
  Config config_;  // resolved
  std::unique_ptr<Impl> impl_;
};

}  // namespace gale::spouts
