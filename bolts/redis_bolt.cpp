#include <gale/bolts/redis_bolt.hpp>

#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gale/errors.hpp>

#include "spouts/redis/redis_client.hpp"

namespace gale::bolts {

namespace {

using spouts::redis::Link;
using spouts::redis::Reply;

constexpr const char* k_owner = "RedisBolt";

// One argument of the command template: literal text and tuple fields in braces.
struct Argument {
  struct Part {
    std::string text;
    bool is_field = false;
  };
  std::vector<Part> parts;
};

std::vector<Argument> parse_command(const std::string& command) {
  const auto bad = [&](const std::string& why) {
    return ConfigError(std::string(k_owner) + ": config key 'redis.command' " + why + ", got '" +
                       command + "'");
  };
  std::vector<Argument> out;
  std::size_t at = 0;
  while (at < command.size()) {
    if (command[at] == ' ') {
      ++at;
      continue;
    }
    const std::size_t end = std::min(command.find(' ', at), command.size());
    Argument argument;
    for (std::size_t i = at; i < end;) {
      if (command[i] == '{') {
        const std::size_t close = command.find('}', i);
        if (close == std::string::npos || close > end || close == i + 1) {
          throw bad("has a '{' without a field name and '}' in the same argument");
        }
        argument.parts.push_back({command.substr(i + 1, close - i - 1), true});
        i = close + 1;
      } else if (command[i] == '}') {
        throw bad("has a '}' without '{'");
      } else {
        const std::size_t next = std::min(command.find_first_of("{}", i), end);
        argument.parts.push_back({command.substr(i, next - i), false});
        i = next;
      }
    }
    out.push_back(std::move(argument));
    at = end;
  }
  if (out.empty()) throw bad("is empty");
  return out;
}

// The text Redis stores for `value`. Throws gale::Error for null, which has none.
std::string text_of(const Value& value) {
  switch (value.type()) {
    case Value::Type::string: return value.as_string();
    case Value::Type::integer: return std::to_string(value.as_int());
    case Value::Type::floating: {
      char buffer[64];
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, value.as_double());
      return std::string(buffer, result.ptr);
    }
    case Value::Type::boolean: return value.as_bool() ? "true" : "false";
    case Value::Type::bytes: return std::string(value.as_bytes().begin(), value.as_bytes().end());
    case Value::Type::null: throw Error("null has no text to write");
    default: return value.to_string();
  }
}

}  // namespace

// Thread: the bolt task's executor thread.
class RedisBolt::Impl {
 public:
  explicit Impl(const Config& given) : config_(schema().resolve(given)) {
    client_options_ = spouts::redis::client_options(config_, k_owner);
    xadd_ = config_.get_string("redis.mode", "") == "xadd";
    stream_ = config_.get_string("redis.stream", "");
    fields_ = string_list(config_, "redis.fields");
    maxlen_ = config_.get_int("redis.maxlen", 0);
    batch_size_ = static_cast<std::size_t>(config_.get_int("redis.batch.size", 0));
    flush_secs_ = config_.get_double("redis.flush.interval.secs", 0.1);
    const std::string command = config_.get_string("redis.command", "");
    if (xadd_) {
      if (stream_.empty()) {
        throw ConfigError(std::string(k_owner) +
                          ": config key 'redis.stream' is required when redis.mode is xadd");
      }
      if (!command.empty()) {
        throw ConfigError(std::string(k_owner) +
                          ": config key 'redis.command' is set but redis.mode is xadd");
      }
    } else {
      if (command.empty()) {
        throw ConfigError(std::string(k_owner) +
                          ": config key 'redis.command' is required when redis.mode is command");
      }
      command_ = parse_command(command);
    }
  }

  void prepare(BoltCollector& out) {
    out_ = &out;
    client_ = std::make_unique<spouts::redis::Client>(client_options_);
  }

  void execute(const Tuple& input) {
    if (input.is_tick()) {
      flush();
      return;
    }
    std::vector<std::string> argv;
    try {
      argv = xadd_ ? xadd_of(input) : command_of(input);
    } catch (const Error& e) {
      out_->report_error(std::string(k_owner) + ": cannot write tuple " + input.to_string() +
                         ": " + e.what());
      out_->fail(input);
      return;
    }
    if (!connect()) {
      out_->fail(input);
      return;
    }
    client_->append(argv);
    held_.push_back({input, std::move(argv)});
    if (held_.size() >= batch_size_) flush();
  }

  // Sends what is queued and settles each held input by its reply.
  void flush() {
    std::size_t errors = 0;
    std::string first_error;
    for (std::size_t i = 0; i < held_.size(); ++i) {
      const std::optional<Reply> reply = client_->next_reply();
      if (!reply) {
        out_->report_error(std::string(k_owner) + ": " + client_->error() + "; " +
                           std::to_string(held_.size() - i) +
                           " inputs failed; reconnecting");
        for (std::size_t j = i; j < held_.size(); ++j) out_->fail(held_[j].input);
        break;
      }
      if (reply->is_error()) {
        if (errors++ == 0) {
          first_error = spouts::redis::describe(held_[i].argv) + ": " + reply->text;
        }
        out_->fail(held_[i].input);
      } else {
        out_->ack(held_[i].input);
      }
    }
    if (errors > 0) {
      out_->report_error(std::string(k_owner) + ": " + std::to_string(errors) + " of " +
                         std::to_string(held_.size()) + " commands failed at redis " +
                         client_->address().text() + "; first: " + first_error);
    }
    held_.clear();
  }

  Config component_config() const {
    Config config;
    config.set(keys::topology_tick_tuple_freq_secs, flush_secs_);
    return config;
  }

 private:
  struct Held {
    Tuple input;
    std::vector<std::string> argv;
  };

  bool connect() {
    const Link link = spouts::redis::connect_reporting(*client_, *out_, k_owner,
                                                      std::chrono::steady_clock::now());
    return link == Link::up || link == Link::fresh;
  }

  std::vector<std::string> xadd_of(const Tuple& input) const {
    std::vector<std::string> argv{"XADD", stream_};
    if (maxlen_ > 0) argv.insert(argv.end(), {"MAXLEN", "~", std::to_string(maxlen_)});
    argv.push_back("*");
    if (fields_.empty()) {
      for (std::size_t i = 0; i < input.size(); ++i) {
        argv.push_back(input.fields()[i]);
        argv.push_back(field_text(input, input.fields()[i]));
      }
    } else {
      for (const std::string& field : fields_) {
        argv.push_back(field);
        argv.push_back(field_text(input, field));
      }
    }
    return argv;
  }

  std::vector<std::string> command_of(const Tuple& input) const {
    std::vector<std::string> argv;
    argv.reserve(command_.size());
    for (const Argument& argument : command_) {
      std::string text;
      for (const Argument::Part& part : argument.parts) {
        text += part.is_field ? field_text(input, part.text) : part.text;
      }
      argv.push_back(std::move(text));
    }
    return argv;
  }

  static std::string field_text(const Tuple& input, const std::string& field) {
    if (!input.fields().contains(field)) throw Error("it has no field '" + field + "'");
    try {
      return text_of(input.get(field));
    } catch (const Error& e) {
      throw Error("field '" + field + "': " + e.what());
    }
  }

  // Constant after construction.
  const Config config_;
  spouts::redis::ClientOptions client_options_;
  bool xadd_ = true;
  std::string stream_;
  std::vector<std::string> fields_;
  std::int64_t maxlen_ = 0;
  std::vector<Argument> command_;
  std::size_t batch_size_ = 0;
  double flush_secs_ = 0.1;
  // Constant after prepare().
  BoltCollector* out_ = nullptr;
  // Task state.
  std::unique_ptr<spouts::redis::Client> client_;
  std::vector<Held> held_;  // queued on the connection, waiting for their replies
};

RedisBolt::RedisBolt(const Config& config) : impl_(std::make_unique<Impl>(config)) {}

RedisBolt::~RedisBolt() = default;

ConfigSchema RedisBolt::schema() {
  ConfigSchema schema(k_owner);
  spouts::redis::add_connection_keys(schema);
  schema.choice("redis.mode", "xadd", {"xadd", "command"},
                "xadd: each tuple an entry of redis.stream; command: redis.command per tuple")
      .string("redis.stream", "", "xadd: the stream written (required)")
      .string_list("redis.fields", {}, "xadd: tuple fields written; empty: all")
      .integer("redis.maxlen", 0, 0, 1'000'000'000'000, "xadd: MAXLEN ~ N trimming; 0: none")
      .string("redis.command", "",
              "command: its arguments, space-separated, {field} for a tuple field "
              "(e.g. HINCRBY counts {word} {count})")
      .integer("redis.batch.size", 100, 1, 100'000, "commands pipelined per flush")
      .floating("redis.flush.interval.secs", 0.1, 0.001, 3600,
                "flush on a tick at least this often (seconds, fractions allowed)");
  return schema;
}

void RedisBolt::declare_outputs(OutputDeclarer&) {}
void RedisBolt::prepare(const Context&, BoltCollector& out) { impl_->prepare(out); }
void RedisBolt::execute(const Tuple& input, BoltCollector&) { impl_->execute(input); }
void RedisBolt::cleanup() { impl_->flush(); }
Config RedisBolt::component_config() const { return impl_->component_config(); }

}  // namespace gale::bolts
