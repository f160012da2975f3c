#pragma once

// A sink bolt writing each input as a record to a Kafka topic (storm-kafka-client's KafkaBolt), on
// librdkafka. Part of libgale_kafka (pkg-config module gale-kafka). Keys: docs/connectors.md.

#include <memory>

#include <gale/bolt.hpp>
#include <gale/config.hpp>
#include <gale/config_schema.hpp>

namespace gale::bolts {

// Produces one record per input tuple to kafka.topic: the key from field kafka.key.field (none
// when the key is empty or the field null) and the value from kafka.value.field; a string field is
// sent as its bytes, a bytes field as it is. The input is acked only once librdkafka's delivery
// report says the broker stored the record, and failed when the delivery fails (after librdkafka's
// own retries, bounded by kafka.producer.message.timeout.ms) or the record cannot be produced (a
// missing field, a field of another type, a full local queue); each distinct error is reported
// with report_error. librdkafka batches the records (kafka.producer.linger.ms); delivery reports
// are served on every execute() and on tick tuples (kafka.tick.secs). cleanup() flushes, waiting
// up to kafka.flush.timeout.ms, and fails what was not delivered by then.
// Thread: all callbacks of one task run on that task's executor thread; librdkafka's delivery
// callback runs inside rd_kafka_poll on that thread too, and only records results.
class KafkaBolt : public Bolt {
 public:
  // Checks `config` against schema(). Throws ConfigError naming the key when a key is missing,
  // mistyped, out of range, unknown, or a kafka.producer.* property is rejected by librdkafka.
  explicit KafkaBolt(const Config& config);
  ~KafkaBolt() override;

  // The keys KafkaBolt accepts, with their defaults.
  static const ConfigSchema& schema();

  void declare_outputs(OutputDeclarer& declarer) override;
  // Creates the producer. Throws gale::Error when librdkafka refuses.
  void prepare(const Context& context, BoltCollector& out) override;
  void execute(const Tuple& input, BoltCollector& out) override;
  void cleanup() override;
  // Ticks every kafka.tick.secs, to serve delivery reports when no input arrives.
  Config component_config() const override;

 private:
  class Impl;
  Config config_;  // resolved
  std::unique_ptr<Impl> impl_;
};

}  // namespace gale::bolts
