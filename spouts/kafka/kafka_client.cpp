#include "spouts/kafka/kafka_client.hpp"

#include <array>
#include <utility>

#include <gale/errors.hpp>

namespace gale::spouts::kafka {

namespace {

// Drops librdkafka's log lines: connectors report through the collector only, and every error a
// log line would show also reaches the error callback.
void drop_log(const rd_kafka_t*, int, const char*, const char*) {}

std::string as_property(const Value& value) {
  if (value.is_string()) return value.as_string();
  if (value.is_bool()) return value.as_bool() ? "true" : "false";
  if (value.is_int()) return std::to_string(value.as_int());
  return value.to_string();
}

void set(rd_kafka_conf_t* conf, const std::string& property, const std::string& value,
         std::string_view gale_key, std::string_view owner) {
  std::array<char, 512> reason{};
  if (rd_kafka_conf_set(conf, property.c_str(), value.c_str(), reason.data(), reason.size()) !=
      RD_KAFKA_CONF_OK) {
    throw ConfigError(std::string(owner) + ": config key '" + std::string(gale_key) +
                      "' is not accepted by librdkafka: " + reason.data());
  }
}

}  // namespace

ConfigSchema schema_with_brokers(std::string owner) {
  ConfigSchema s(std::move(owner));
  s.required_string("kafka.bootstrap.servers", "brokers to start from, host:port, comma-separated");
  return s;
}

ConfPtr make_conf(const Config& config, std::string_view prefix, std::string_view owner) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), drop_log);
  set(conf.get(), "bootstrap.servers", config.get_string("kafka.bootstrap.servers", ""),
      "kafka.bootstrap.servers", owner);
  for (const auto& [key, value] : config.entries()) {
    if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) continue;
    set(conf.get(), key.substr(prefix.size()), as_property(value), key, owner);
  }
  return conf;
}

std::string broker_error(std::string_view owner, std::string_view brokers, std::string_view what) {
  return std::string(owner) + ": brokers " + std::string(brokers) + ": " + std::string(what);
}

std::string ErrorThrottle::admit(const std::string& kind, const std::string& message,
                                 Clock::time_point now) {
  if (kind == last_ && now - last_at_ < interval_) {
    ++held_back_;
    return "";
  }
  std::string out = message;
  if (kind == last_ && held_back_ > 0) {
    out += " (" + std::to_string(held_back_) + " more like it since last reported)";
  }
  last_ = kind;
  last_at_ = now;
  held_back_ = 0;
  return out;
}

void ErrorReports::add(const std::string& what, std::string kind) {
  std::string text = broker_error(owner_, brokers_, what);
  if (kind.empty()) kind = text;
  queued_.emplace_back(std::move(kind), std::move(text));
}

void ErrorReports::add_client_error(int err, const char* reason) {
  add(std::string(rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err))) + " (" + reason + ")");
}

std::vector<std::string> ErrorReports::take(ErrorThrottle::Clock::time_point now) {
  std::vector<std::string> out;
  for (const auto& [kind, text] : queued_) {
    if (std::string admitted = throttle_.admit(kind, text, now); !admitted.empty()) {
      out.push_back(std::move(admitted));
    }
  }
  queued_.clear();
  return out;
}

}  // namespace gale::spouts::kafka
