#pragma once

// What the Kafka spout and bolt share about librdkafka: owning handles, a configuration built from
// Gale keys, and error text that names the brokers. Internal to libgale_kafka: the public headers
// never include rdkafka.h.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include <gale/config.hpp>
#include <gale/config_schema.hpp>

namespace gale::spouts::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const noexcept { rd_kafka_conf_destroy(conf); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const noexcept {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// The keys every Kafka component takes (kafka.bootstrap.servers), in a schema owned by `owner`.
[[nodiscard]] ConfigSchema schema_with_brokers(std::string owner);

// A librdkafka configuration: "bootstrap.servers" from kafka.bootstrap.servers, then every key
// under `prefix` (e.g. "kafka.consumer.") with the prefix removed, as a librdkafka property (a
// value given as a number or boolean is passed as its text). librdkafka's messages stay on the
// caller's thread: its log lines are dropped (errors reach the component's error callback, which
// reports them through the collector). Throws ConfigError naming the Gale key and librdkafka's
// reason when librdkafka rejects a property. `owner` ("KafkaSpout") starts the message.
[[nodiscard]] ConfPtr make_conf(const Config& config, std::string_view prefix,
                                std::string_view owner);

// "KafkaSpout: brokers 127.0.0.1:9092: Local: Broker transport failure (...)": what report_error
// says about a client error, naming the brokers the component was given.
[[nodiscard]] std::string broker_error(std::string_view owner, std::string_view brokers,
                                       std::string_view what);

// Thread: owned by one task. Decides which errors go to report_error: an error of a new kind at
// once, one of the kind last reported again at most every `interval` (librdkafka repeats a lost
// broker's error on every reconnect attempt; a stream of bad tuples repeats one problem), with a
// count of the repeats it held back.
class ErrorThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ErrorThrottle(std::chrono::milliseconds interval = std::chrono::seconds(5))
      : interval_(interval) {}

  // The text to report for `message`, of kind `kind`, now, or "" when it is held back.
  [[nodiscard]] std::string admit(const std::string& kind, const std::string& message,
                                  Clock::time_point now);

 private:
  std::chrono::milliseconds interval_;
  std::string last_;
  Clock::time_point last_at_{};
  std::int64_t held_back_ = 0;
};

// Thread: owned by one task. Errors met inside librdkafka's callbacks (or anywhere in the task)
// wait here, named after the component and its brokers, until the task's own code hands them to
// the collector's report_error, through an ErrorThrottle.
class ErrorReports {
 public:
  ErrorReports(std::string owner, std::string brokers)
      : owner_(std::move(owner)), brokers_(std::move(brokers)) {}

  // `what` went wrong; `kind` groups its repeats for the throttle (empty: the text itself).
  void add(const std::string& what, std::string kind = "");
  // An error librdkafka's error callback was given.
  void add_client_error(int err, const char* reason);
  // The errors to report now (the others are held back); empties the queue.
  [[nodiscard]] std::vector<std::string> take(ErrorThrottle::Clock::time_point now);
  // Reports what take() returns through `out` (a SpoutCollector or a BoltCollector).
  template <class Collector>
  void report_to(Collector& out) {
    for (const std::string& text : take(ErrorThrottle::Clock::now())) out.report_error(text);
  }

  // For librdkafka's error callback (rd_kafka_conf_set_error_cb) when the handle's opaque is a
  // component whose `errors()` returns its ErrorReports.
  template <class Component>
  static void on_client_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<Component*>(opaque)->errors().add_client_error(err, reason);
  }

 private:
  std::string owner_;
  std::string brokers_;
  std::vector<std::pair<std::string, std::string>> queued_;  // kind, text
  ErrorThrottle throttle_;
};

}  // namespace gale::spouts::kafka
