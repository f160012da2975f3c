// The Redis scenarios: a redis-server of the suite's own (tests/support/redis_server: a temporary
// directory, a free loopback port, killed by pid) holding a pre-produced stream, read through a
// consumer group by RedisStreamSpout -> no-op or by a plain hiredis XREADGROUP + XACK loop.

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gale/spouts/redis_stream_spout.hpp>

#include "bench/connector_runs.hpp"
#include "tests/support/redis_server.hpp"

namespace gale::bench {

namespace {

constexpr const char* k_stream = "bench";
constexpr const char* k_field = "sentence";
// COUNT per XREADGROUP of the plain client: redis.read.count's default, which the spout uses.
constexpr int k_read_count = 100;
// Enough for windows of about a second at the plain client's rate on two shared cores.
constexpr std::int64_t k_records = 300'000;

// The server with the stream k_stream of k_records entries {sentence: "<i>"}.
class RedisSource final : public ConnectorSource {
 public:
  explicit RedisSource(std::int64_t records) {
    server_.add_entries(k_stream, k_field, 0, static_cast<int>(records));
  }
  [[nodiscard]] std::string address() const override { return server_.url(); }

 private:
  test::RedisServer server_;
};

struct ContextDeleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// The plain client's connection; every command's error reply or lost connection throws.
class PlainClient {
 public:
  explicit PlainClient(const std::string& url) {
    const auto colon = url.rfind(':');
    const std::string host = url.substr(url.find("//") + 2, colon - url.find("//") - 2);
    const int port = std::atoi(url.c_str() + colon + 1);
    c_.reset(redisConnectWithTimeout(host.c_str(), port, {2, 0}));
    if (!c_ || c_->err) {
      throw std::runtime_error("plain client: cannot connect to " + url + ": " +
                               (c_ ? c_->errstr : "out of memory"));
    }
  }

  ReplyPtr command(const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const std::string& a : argv) {
      args.push_back(a.data());
      lengths.push_back(a.size());
    }
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommandArgv(c_.get(), static_cast<int>(args.size()), args.data(), lengths.data())));
    if (!reply) throw std::runtime_error("plain client: " + argv[0] + ": " + c_->errstr);
    if (reply->type == REDIS_REPLY_ERROR) {
      throw std::runtime_error("plain client: " + argv[0] + ": " + reply->str);
    }
    return reply;
  }

 private:
  std::unique_ptr<redisContext, ContextDeleter> c_;
};

// The plain client: XREADGROUP COUNT k_read_count of new entries, then one XACK of their ids,
// in a loop; an entry is done when its XACK returned.
Figures run_plain(const ConnectorRunOptions& o) {
  PlainClient client(o.source);
  client.command({"XGROUP", "CREATE", k_stream, o.group, "0", "MKSTREAM"});
  const std::vector<std::string> read{"XREADGROUP", "GROUP",  o.group,
                                      "plain",      "COUNT",  std::to_string(k_read_count),
                                      "STREAMS",    k_stream, ">"};
  RecordWindow window(o.warmup_records, o.records, o.timeout_s);
  std::int64_t done = 0;
  std::vector<std::string> ack{"XACK", k_stream, o.group};
  while (!window.observe(done)) {
    const ReplyPtr reply = client.command(read);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) continue;  // nil: none new
    // [[stream, [[id, [field, value, ...]], ...]]]
    const redisReply* entries = reply->element[0]->element[1];
    ack.resize(3);
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* id = entries->element[i]->element[0];
      ack.emplace_back(id->str, id->len);
    }
    if (ack.size() == 3) continue;
    client.command(ack);
    done += static_cast<std::int64_t>(ack.size() - 3);
  }
  return window.figures();
}

Figures run_spout(const ConnectorRunOptions& o) {
  gale::Config config;
  config.set("redis.url", o.source);
  config.set("redis.stream", std::string(k_stream));
  config.set("redis.group", o.group);
  config.set("redis.fields", std::string(k_field));
  return run_spout_to_noop(gale::make<gale::spouts::RedisStreamSpout>(config), o);
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::error_code ec;
    if (!dir.empty() && std::filesystem::exists(std::filesystem::path(dir) / program, ec)) {
      return true;
    }
  }
  return false;
}

}  // namespace

ConnectorBench redis_bench() {
  ConnectorBench b;
  b.id = "redis";
  b.records = k_records;
  b.missing = []() -> std::optional<std::string> {
    if (on_path("redis-server")) return std::nullopt;
    return "redis-server is not on PATH (Debian: apt-get install redis-server)";
  };
  b.start = [] { return std::make_unique<RedisSource>(k_records); };
  b.run = [](const ConnectorRunOptions& o) { return o.spout ? run_spout(o) : run_plain(o); };
  return b;
}

}  // namespace gale::bench
