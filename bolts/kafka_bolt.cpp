#include <gale/bolts/kafka_bolt.hpp>

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gale/errors.hpp>
#include <gale/tuple.hpp>

#include "spouts/kafka/kafka_client.hpp"

namespace gale::bolts {

namespace {

constexpr const char* k_owner = "KafkaBolt";

ConfigSchema make_schema() {
  ConfigSchema s = spouts::kafka::schema_with_brokers(k_owner);
  s.required_string("kafka.topic", "topic the records are written to")
      .string("kafka.key.field", "", "input field holding the record key (empty: no key)")
      .string("kafka.value.field", "value", "input field holding the record value")
      .integer("kafka.flush.timeout.ms", 10'000, 0, 3'600'000,
               "how long cleanup() waits for outstanding deliveries")
      .floating("kafka.tick.secs", 0.1, 0.001, 3600,
               "seconds between tick tuples serving delivery reports")
      .passthrough("kafka.producer.",
                   "librdkafka producer properties, e.g. kafka.producer.linger.ms");
  return s;
}

// The bytes of a string or bytes field, or an explanation of why the field cannot be sent.
struct FieldBytes {
  const void* data = nullptr;
  std::size_t size = 0;
  std::string problem;  // empty when the field can be sent
};

FieldBytes field_bytes(const Tuple& input, const std::string& field, bool allow_null) {
  if (!input.fields().contains(field)) return {nullptr, 0, "it has no field '" + field + "'"};
  const Value& v = input.get(field);
  if (v.is_string()) return {v.as_string().data(), v.as_string().size(), ""};
  if (v.is_bytes()) return {v.as_bytes().data(), v.as_bytes().size(), ""};
  if (v.is_null() && allow_null) return {};
  return {nullptr, 0, "field '" + field + "' is " + type_name(v.type()) + ", not string or bytes"};
}

}  // namespace

// The producer of one task and the inputs waiting for their delivery report.
// Thread: the bolt task's executor thread.
class KafkaBolt::Impl {
 public:
  Impl(const Config& config, BoltCollector& out)
      : out_(out),
        topic_(config.get_string("kafka.topic", "")),
        key_field_(config.get_string("kafka.key.field", "")),
        value_field_(config.get_string("kafka.value.field", "value")),
        flush_timeout_ms_(static_cast<int>(config.get_int("kafka.flush.timeout.ms", 10'000))),
        errors_(k_owner, config.get_string("kafka.bootstrap.servers", "")) {
    spouts::kafka::ConfPtr conf = spouts::kafka::make_conf(config, "kafka.producer.", k_owner);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &Impl::on_delivery);
    rd_kafka_conf_set_error_cb(conf.get(), &spouts::kafka::ErrorReports::on_client_error<Impl>);
    char reason[512] = {};
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), reason, sizeof reason);
    if (rk_ == nullptr) throw Error(std::string(k_owner) + ": cannot create a producer: " + reason);
    conf.release();  // rd_kafka_new took it
  }

  ~Impl() {
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

  void execute(const Tuple& input) {
    if (!input.is_tick()) produce(input);
    serve();
  }

  spouts::kafka::ErrorReports& errors() noexcept { return errors_; }

  void cleanup() {
    if (const rd_kafka_resp_err_t err = rd_kafka_flush(rk_, flush_timeout_ms_)) {
      queue_error(std::string("flushing on cleanup: ") + rd_kafka_err2str(err) + ", " +
                  std::to_string(rd_kafka_outq_len(rk_)) + " records not delivered");
    }
    serve();
    for (auto& [id, tuple] : waiting_) out_.fail(tuple);  // never delivered
    waiting_.clear();
    errors_.report_to(out_);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

 private:
  void produce(const Tuple& input) {
    const FieldBytes value = field_bytes(input, value_field_, /*allow_null=*/false);
    FieldBytes key;
    if (!key_field_.empty()) key = field_bytes(input, key_field_, /*allow_null=*/true);
    const std::string& problem = value.problem.empty() ? key.problem : value.problem;
    if (!problem.empty()) {
      // Reported once per kind of problem (a stream of bad tuples is not logged one by one),
      // naming the first tuple that had it.
      queue_error("cannot map tuple " + Value(input.values().to_list()).to_string() +
                      " to a record: " + problem,
                  problem);
      out_.fail(input);
      return;
    }
    const std::uint64_t id = next_id_++;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(const_cast<void*>(key.data), key.size),
        RD_KAFKA_V_VALUE(const_cast<void*>(value.data), value.size),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(id))),
        RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // A full local queue or a bad topic: fail now, the spout replays the tuple.
      queue_error("producing to topic '" + topic_ + "': " + rd_kafka_err2str(err));
      out_.fail(input);
      return;
    }
    waiting_.emplace(id, input);
  }

  // Runs the delivery callbacks due, then acks and fails their inputs here, on the task thread.
  void serve() {
    rd_kafka_poll(rk_, 0);
    for (const auto& [id, err] : delivered_) {
      const auto it = waiting_.find(id);
      if (it == waiting_.end()) continue;
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        out_.ack(it->second);
      } else {
        queue_error("delivery to topic '" + topic_ + "' failed: " + rd_kafka_err2str(err));
        out_.fail(it->second);
      }
      waiting_.erase(it);
    }
    delivered_.clear();
    errors_.report_to(out_);
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    self->delivered_.emplace_back(reinterpret_cast<std::uintptr_t>(m->_private), m->err);
  }

  // Errors wait in errors_ until execute() or cleanup() reports them, outside librdkafka's
  // callbacks.
  void queue_error(const std::string& what, std::string kind = "") {
    errors_.add(what, std::move(kind));
  }

  // Constant after construction.
  BoltCollector& out_;
  const std::string topic_;
  const std::string key_field_;
  const std::string value_field_;
  const int flush_timeout_ms_;
  rd_kafka_t* rk_ = nullptr;
  // Task state.
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, Tuple> waiting_;  // produced, no delivery report yet
  std::vector<std::pair<std::uint64_t, rd_kafka_resp_err_t>> delivered_;  // by the callback
  spouts::kafka::ErrorReports errors_;
};

KafkaBolt::KafkaBolt(const Config& config) : config_(schema().resolve(config)) {
  // librdkafka checks the kafka.producer.* properties now, so a bad one fails the build.
  (void)spouts::kafka::make_conf(config_, "kafka.producer.", k_owner);
}

KafkaBolt::~KafkaBolt() = default;

const ConfigSchema& KafkaBolt::schema() {
  static const ConfigSchema s = make_schema();
  return s;
}

void KafkaBolt::declare_outputs(OutputDeclarer&) {}

void KafkaBolt::prepare(const Context&, BoltCollector& out) {
  impl_ = std::make_unique<Impl>(config_, out);
}

void KafkaBolt::execute(const Tuple& input, BoltCollector&) { impl_->execute(input); }

void KafkaBolt::cleanup() {
  if (impl_) impl_->cleanup();
}

Config KafkaBolt::component_config() const {
  Config c;
  c.set(keys::topology_tick_tuple_freq_secs, config_.get_double("kafka.tick.secs", 0.1));
  return c;
}

}  // namespace gale::bolts
