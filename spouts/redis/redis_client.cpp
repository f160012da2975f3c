#include "spouts/redis/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include <gale/errors.hpp>

namespace gale::spouts::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Reply copy_reply(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STATUS: out.kind = Reply::Kind::status; break;
    case REDIS_REPLY_ERROR: out.kind = Reply::Kind::error; break;
    case REDIS_REPLY_INTEGER: out.kind = Reply::Kind::integer; break;
    case REDIS_REPLY_STRING: out.kind = Reply::Kind::string; break;
    case REDIS_REPLY_ARRAY: out.kind = Reply::Kind::array; break;
    default: out.kind = Reply::Kind::nil; break;
  }
  out.integer = r.integer;
  if (r.str != nullptr) out.text.assign(r.str, r.len);
  out.elements.reserve(r.elements);
  for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(copy_reply(*r.element[i]));
  return out;
}

// hiredis's argv form of `argv`.
struct Argv {
  explicit Argv(const std::vector<std::string>& argv) {
    pointers.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const std::string& a : argv) {
      pointers.push_back(a.data());
      lengths.push_back(a.size());
    }
  }
  int count() const { return static_cast<int>(pointers.size()); }
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
};

}  // namespace

std::string Address::text() const { return host + ":" + std::to_string(port); }

Address parse_address(std::string_view url, std::string_view owner, std::string_view key) {
  const auto bad = [&](std::string_view why) {
    return ConfigError(std::string(owner) + ": config key '" + std::string(key) + "' " +
                       std::string(why) + ", got '" + std::string(url) + "'");
  };
  std::string_view rest = url;
  if (rest.starts_with("redis://")) rest.remove_prefix(8);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  Address address;
  const std::size_t colon = rest.rfind(':');
  address.host = std::string(rest.substr(0, colon));
  if (colon != std::string_view::npos) {
    const std::string_view port = rest.substr(colon + 1);
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      throw bad("must be redis://HOST:PORT with a port in [1, 65535]");
    }
    address.port = value;
  }
  if (address.host.empty()) throw bad("must be redis://HOST:PORT with a host");
  return address;
}

struct Client::Context {
  explicit Context(redisContext* c) : raw(c) {}
  ~Context() { redisFree(raw); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  redisContext* raw;
};

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Client::~Client() = default;

bool Client::connected() const noexcept { return context_ != nullptr; }

Link Client::ensure_connected(std::chrono::steady_clock::time_point now) {
  if (context_) return Link::up;
  if (now < next_attempt_) return Link::waiting;
  // The next attempt waits longer, until one succeeds.
  backoff_ = backoff_.count() == 0 ? options_.reconnect_initial
                                   : std::min(backoff_ * 2, options_.reconnect_max);
  next_attempt_ = now + backoff_;
  redisContext* raw = redisConnectWithTimeout(options_.address.host.c_str(),
                                              options_.address.port,
                                              to_timeval(options_.connect_timeout));
  if (raw == nullptr) {
    error_ = "redis at " + options_.address.text() + ": cannot allocate a connection";
    return Link::failed;
  }
  auto context = std::make_unique<Context>(raw);
  if (raw->err != 0) {
    error_ = "redis at " + options_.address.text() + ": " + raw->errstr;
    return Link::failed;
  }
  redisSetTimeout(raw, to_timeval(options_.read_timeout));
  context_ = std::move(context);
  if (!options_.password.empty()) {
    const std::optional<Reply> auth = command({"AUTH", options_.password});
    if (!auth) return Link::failed;
    if (auth->is_error()) {
      disconnect("redis at " + options_.address.text() + ": AUTH refused: " + auth->text);
      return Link::failed;
    }
  }
  backoff_ = std::chrono::milliseconds(0);
  return Link::fresh;
}

std::optional<Reply> Client::command(const std::vector<std::string>& argv) {
  append(argv);
  return next_reply();
}

void Client::append(const std::vector<std::string>& argv) {
  if (!context_) return;  // next_reply() says the connection is down
  Argv a(argv);
  if (redisAppendCommandArgv(context_->raw, a.count(), a.pointers.data(), a.lengths.data()) !=
      REDIS_OK) {
    broke("cannot queue " + describe(argv));
  }
}

std::optional<Reply> Client::next_reply() {
  if (!context_) return std::nullopt;
  void* raw = nullptr;
  if (redisGetReply(context_->raw, &raw) != REDIS_OK || raw == nullptr) {
    broke(context_->raw->errstr[0] != '\0' ? context_->raw->errstr : "connection lost");
    return std::nullopt;
  }
  auto* reply = static_cast<redisReply*>(raw);
  Reply out = copy_reply(*reply);
  freeReplyObject(reply);
  return out;
}

void Client::disconnect(std::string reason) {
  context_.reset();
  error_ = std::move(reason);
}

// The hiredis context is unusable after an I/O error (it says so in its docs): drop it.
void Client::broke(std::string what) {
  disconnect("redis at " + options_.address.text() + ": " + what);
}

void add_connection_keys(ConfigSchema& schema) {
  schema.string("redis.url", "redis://127.0.0.1:6379", "the server, redis://HOST:PORT")
      .string("redis.password", "", "AUTH password; empty: none")
      .integer("redis.connect.timeout.ms", 1000, 1, 600'000, "bound on connecting")
      .integer("redis.read.timeout.ms", 2000, 1, 600'000,
               "bound on waiting for a reply (a task never waits longer on a dead server)")
      .integer("redis.reconnect.initial.ms", 100, 1, 600'000,
               "delay before the first reconnect; doubles per failed attempt")
      .integer("redis.reconnect.max.ms", 5000, 1, 600'000, "longest delay between reconnects");
}

ClientOptions client_options(const Config& resolved, std::string_view owner) {
  const auto ms = [&](std::string_view key) {
    return std::chrono::milliseconds(resolved.get_int(key, 0));
  };
  ClientOptions options;
  options.address = parse_address(resolved.get_string("redis.url", ""), owner, "redis.url");
  options.password = resolved.get_string("redis.password", "");
  options.connect_timeout = ms("redis.connect.timeout.ms");
  options.read_timeout = ms("redis.read.timeout.ms");
  options.reconnect_initial = ms("redis.reconnect.initial.ms");
  options.reconnect_max = ms("redis.reconnect.max.ms");
  return options;
}

std::string describe(const std::vector<std::string>& argv) {
  constexpr std::size_t k_longest = 40;
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += a.size() <= k_longest ? a : a.substr(0, k_longest) + "...";
  }
  return out;
}

}  // namespace gale::spouts::redis
